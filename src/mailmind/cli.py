"""``mailmind``: serve, api, worker, migrate, create-user and key generation."""

from __future__ import annotations

import asyncio
import base64
import getpass
import os
import secrets
import shutil
import signal
import sys
from contextlib import suppress
from pathlib import Path
from typing import Any

import click

from mailmind.config import Settings, describe_validation_error, reset_settings_cache


def load_settings() -> Settings:
    """Validate the environment once; exit naming the variable when something is wrong."""
    from pydantic import ValidationError

    from mailmind.config import ConfigError, get_settings

    try:
        return get_settings()
    except (ValidationError, ConfigError) as exc:
        click.echo(f"mailmind: configuration error: {describe_validation_error(exc)}", err=True)
        raise SystemExit(2) from None


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM unwinds like Ctrl+C, so `finally` blocks run and the embedded server is stopped.
    # uvicorn restores this handler after its graceful shutdown and re-raises the signal here.
    raise SystemExit(128 + signum)


class Bootstrap:
    """Resolves the database (external or embedded) and keeps the embedded server alive."""

    def __init__(self, settings: Settings, role: str) -> None:
        from mailmind.observability import init_process

        signal.signal(signal.SIGTERM, _terminate)
        self.settings = settings
        init_process(settings, role=role)
        self.embedded: Any = None

    def database_url(self) -> str:
        if self.settings.database_url is not None:
            return self.settings.database_url.get_secret_value()
        from mailmind.embedded import EmbeddedPostgres

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.embedded = EmbeddedPostgres(self.settings.data_dir)
        url: str = self.embedded.start()
        # Child processes (API workers) reach the same server through the environment.
        os.environ["DATABASE_URL"] = url
        reset_settings_cache()
        self.settings = load_settings()
        return url

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


@click.group()
def main() -> None:
    """MailMind: self-hostable AI email client."""


@main.command()
def migrate() -> None:
    """Apply database migrations (alembic upgrade head)."""
    boot = Bootstrap(load_settings(), "migrate")
    try:
        from mailmind.migrate import upgrade

        upgrade(boot.database_url())
        click.echo("mailmind: database is at the latest migration")
    finally:
        boot.close()


def _prepare_metrics_dir(settings: Settings, workers: int) -> None:
    if workers <= 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    directory = Path(
        os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.data_dir / "prometheus"
    ).resolve()
    shutil.rmtree(directory, ignore_errors=True)  # stale files of dead processes
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def _uvicorn_options(settings: Settings, host: str | None, port: int | None) -> dict[str, Any]:
    return {
        "host": host or settings.host,
        "port": port or settings.port,
        "proxy_headers": True,
        "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": 20,
        "loop": "uvloop",
        "http": "httptools",
    }


def app_factory() -> Any:
    """Entry for uvicorn workers: monitoring first, then the app."""
    settings = load_settings()
    from mailmind.observability import init_process

    init_process(settings, role="api")
    from mailmind.app import create_app

    return create_app(settings)


@main.command()
@click.option("--host", default=None, help="Bind address (HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (PORT, default 9000).")
@click.option(
    "--workers",
    type=int,
    default=lambda: int(os.environ.get("WEB_CONCURRENCY", "1")),
    help="API worker processes (WEB_CONCURRENCY).",
)
def api(host: str | None, port: int | None, workers: int) -> None:
    """Run the HTTP API (stateless; run several replicas behind a load balancer)."""
    import uvicorn

    settings = load_settings()
    _prepare_metrics_dir(settings, workers)
    boot = Bootstrap(settings, "api")
    try:
        boot.database_url()
        uvicorn.run(
            "mailmind.cli:app_factory",
            factory=True,
            workers=workers,
            **_uvicorn_options(boot.settings, host, port),
        )
    finally:
        boot.close()


@main.command()
def worker() -> None:
    """Run the job worker: sync, send, AI pipeline, periodic jobs."""
    boot = Bootstrap(load_settings(), "worker")
    try:
        url = boot.database_url()
        from mailmind.jobs.queue import run_worker
        from mailmind.runtime import Runtime

        async def _run() -> None:
            runtime = Runtime.create(boot.settings, url)
            try:
                await run_worker(runtime)
            finally:
                await runtime.close()

        asyncio.run(_run())
    finally:
        boot.close()


@main.command()
@click.option("--host", default=None, help="Bind address (HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (PORT, default 9000).")
@click.option("--no-migrate", is_flag=True, help="Do not apply migrations first.")
def serve(host: str | None, port: int | None, no_migrate: bool) -> None:
    """API and worker in one process, migrations applied: the laptop and demo mode."""
    import uvicorn

    settings = load_settings()
    boot = Bootstrap(settings, "serve")
    try:
        url = boot.database_url()
        if not no_migrate:
            from mailmind.migrate import upgrade

            upgrade(url)
        from mailmind.app import create_app
        from mailmind.jobs.queue import run_worker
        from mailmind.runtime import Runtime

        async def _run() -> None:
            runtime = Runtime.create(boot.settings, url)
            app = create_app(boot.settings, runtime=runtime)
            server = uvicorn.Server(
                uvicorn.Config(app, **_uvicorn_options(boot.settings, host, port))
            )
            worker_task = asyncio.create_task(run_worker(runtime, install_signal_handlers=False))
            try:
                await server.serve()
            finally:
                worker_task.cancel()
                with suppress(asyncio.CancelledError):
                    await worker_task
                await runtime.close()

        address = f"{host or boot.settings.host}:{port or boot.settings.port}"
        click.echo(f"mailmind: serving on http://{address}", err=True)
        asyncio.run(_run())
    finally:
        boot.close()


@main.command("create-user")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Give the user admin rights.")
@click.option("--name", default="", help="Full name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email: str, admin: bool, name: str, password_stdin: bool) -> None:
    """Create a verified user (asks for the password, or reads MAILMIND_PASSWORD)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = os.environ.get("MAILMIND_PASSWORD") or getpass.getpass("Password: ")
    boot = Bootstrap(load_settings(), "cli")
    try:
        url = boot.database_url()
        from mailmind.auth.service import create_user as create
        from mailmind.errors import MailMindError
        from mailmind.runtime import Runtime

        async def _run() -> str:
            runtime = Runtime.create(boot.settings, url)
            try:
                async with runtime.db.session() as session:
                    user = await create(
                        session, email=email, password=password, full_name=name, admin=admin
                    )
                    return str(user.id)
            finally:
                await runtime.close()

        try:
            user_id = asyncio.run(_run())
        except MailMindError as exc:
            click.echo(f"mailmind: {exc.code}: {exc.message}", err=True)
            raise SystemExit(1) from None
        click.echo(f"created user {user_id}{' (admin)' if admin else ''}")
    finally:
        boot.close()


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--user", "email", default=None, help="Owner of the mail (required with several users)."
)
def import_mail(path: Path, email: str | None) -> None:
    """Import an mbox, .eml or zip of .eml files into a user's local account.

    Runs in this process (no worker needed) and resumes nothing: run it again on the same file
    and every message already imported counts as a duplicate. IMPORT_MAX_BYTES does not apply.
    """
    import time

    boot = Bootstrap(load_settings(), "cli")
    try:
        url = boot.database_url()
        from mailmind.errors import MailMindError
        from mailmind.imports import service
        from mailmind.jobs.queue import load_tasks
        from mailmind.runtime import Runtime

        last = [0.0]

        def show(progress: service.ImportProgress) -> None:
            now = time.monotonic()
            if now - last[0] >= 2 or progress.status != "running":
                last[0] = now
                click.echo(
                    f"{progress.processed}/{progress.total}: {progress.imported} imported, "
                    f"{progress.duplicates} duplicates, {progress.failed} failed",
                    err=True,
                )

        async def _run() -> Any:
            load_tasks()
            service.check_file(path)
            runtime = Runtime.create(boot.settings, url)
            try:
                async with runtime.db.session() as session:
                    user = await service.user_for_import(session, email)
                    row = await service.create_import(
                        session, user_id=user.id, filename=path.name, enqueue=False
                    )
                return await service.run_import(runtime, row.id, source=path, on_progress=show)
            finally:
                await runtime.close()

        try:
            result = asyncio.run(_run())
        except MailMindError as exc:
            click.echo(f"mailmind: {exc.code}: {exc.message}", err=True)
            raise SystemExit(1) from None
        if result.status != "completed":
            click.echo(f"mailmind: import failed: {result.error}", err=True)
            raise SystemExit(1)
        click.echo(
            f"imported {result.imported}, duplicates {result.duplicates}, failed {result.failed} "
            f"of {result.total} messages from {path.name}"
        )
    finally:
        boot.close()


@main.command("gen-key")
@click.option("--id", "key_id", default="k1", help="Key id stored with each ciphertext.")
def gen_key(key_id: str) -> None:
    """Print a new ENCRYPTION_KEY value (AES-256)."""
    click.echo(f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}")


@main.command("gen-secret")
def gen_secret() -> None:
    """Print a new JWT_SECRET value (48 random bytes)."""
    click.echo(secrets.token_urlsafe(48))


if __name__ == "__main__":  # pragma: no cover
    main()
