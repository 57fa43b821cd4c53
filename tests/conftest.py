"""Test set-up: real PostgreSQL, Redis and SMTP servers for the whole session; every test starts
from empty tables and an empty store."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.mailservers import DovecotServer, MailUser
from tests.services import RedisServer, SMTPServer, external_database_url, start_postgres

# The environment of the whole test session, before any settings are read.
os.environ.update(
    {
        "APP_ENV": "test",
        "JWT_SECRET": "test-jwt-secret-that-is-long-enough-0123456789",
        "JOB_RETRY_MIN_SECONDS": "0",
        "JOB_RETRY_MAX_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "ALLOW_REGISTRATION": "true",
    }
)
for name in ("DATABASE_URL", "REDIS_URL", "REDIS_PASSWORD", "SYSTEM_SMTP_URL", "API_URL"):
    os.environ.pop(name, None)

from mailmind.config import Settings, reset_settings_cache  # noqa: E402
from mailmind.db import libpq_url  # noqa: E402
from mailmind.logging import configure_logging  # noqa: E402
from mailmind.runtime import Runtime  # noqa: E402

PASSWORD = "violet-harbour-lantern-42"

# Logs go through the standard library as in production, so tests can read them (caplog).
configure_logging(json=True, level="INFO")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated database: on TEST_DATABASE_URL, or on a private embedded server."""
    from mailmind.migrate import upgrade

    external = external_database_url()
    if external:
        upgrade(external)
        yield libpq_url(external)
        return
    # Not under pytest's private temp dirs: the server runs as another user when we are root.
    parent = Path(tempfile.mkdtemp(prefix="mailmind-test-pg-"))
    parent.chmod(0o755)
    server = start_postgres(parent / "data")
    server.psql("CREATE DATABASE mailmind_test;")
    url = server.get_uri("mailmind_test")
    upgrade(url)
    try:
        yield url
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_admin_url(pg_url: str) -> str:
    """The maintenance database of the same server (to create scratch databases)."""
    return re.sub(r"/mailmind_test(\?|$)", r"/postgres\1", pg_url)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """A private Dovecot (IMAPS + IMAP/STARTTLS, self-signed CA) for the whole session."""
    server = DovecotServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def mail_user(dovecot: DovecotServer) -> MailUser:
    """A fresh Dovecot login with an empty mailbox: ``(username, password)``."""
    return dovecot.add_user()


def make_settings(**overrides: Any) -> Settings:
    reset_settings_cache()
    return Settings(**overrides)


@pytest.fixture(scope="session")
def settings(redis_server: RedisServer) -> Settings:
    return make_settings(REDIS_URL=redis_server.url, REDIS_PASSWORD=redis_server.password)


@pytest.fixture(scope="session")
async def runtime(settings: Settings, pg_url: str) -> AsyncIterator[Runtime]:
    from mailmind.jobs.queue import load_tasks

    load_tasks()
    rt = Runtime.create(settings, pg_url)
    try:
        yield rt
    finally:
        await rt.close()


def runtime_with(runtime: Runtime, **changes: Any) -> Runtime:
    """The same database and store under other settings (field names, e.g. ``allow_registration``).

    ``store``, ``db`` and ``redis_configured`` replace those parts instead."""
    parts = {key: changes.pop(key) for key in ("store", "db", "redis_configured") if key in changes}
    return Runtime(
        settings=runtime.settings.model_copy(update=changes),
        db=parts.get("db", runtime.db),
        store=parts.get("store", runtime.store),
        secrets=runtime.secrets,
        redis_configured=parts.get("redis_configured", runtime.redis_configured),
    )


def app_for(runtime: Runtime) -> Any:
    from mailmind.app import create_app

    return create_app(runtime=runtime)


TABLES_TO_KEEP = {"alembic_version"}


@pytest.fixture(autouse=True)
async def _clean(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empty every table and the store after each test that used the database."""
    yield
    if "runtime" not in request.fixturenames:
        return
    rt: Runtime = request.getfixturevalue("runtime")
    from sqlalchemy import text

    async with rt.db.session() as session:
        rows = await session.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        tables = [r[0] for r in rows if r[0] not in TABLES_TO_KEEP]
        await session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    await rt.store.delete_matching("*")


def make_client(app: Any, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    # Like a real server: an unhandled error becomes the 500 answer, not a test-side raise.
    transport = httpx.ASGITransport(app=app, client=(ip, 40000), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


@pytest.fixture(scope="session")
def app(settings: Settings, runtime: Runtime) -> Any:
    return app_for(runtime)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c


async def create_user(
    runtime: Runtime, email: str | None = None, *, admin: bool = False, password: str = PASSWORD
) -> Any:
    from mailmind.auth.service import create_user as create

    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    async with runtime.db.session() as session:
        return await create(session, email=email, password=password, admin=admin)


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/login", json={"email": email, "password": password, **extra}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def drain_jobs(runtime: Runtime) -> None:
    """Run the real worker until the queue has nothing due."""
    from mailmind.jobs.queue import runtime_app

    worker_app = runtime_app(runtime.db.url)
    # Only what the test queued: cron jobs would make the queue depend on the clock.
    periodic = worker_app.periodic_registry.periodic_tasks
    worker_app.periodic_registry.periodic_tasks = {}
    try:
        async with worker_app.open_async():
            await worker_app.run_worker_async(
                wait=False,
                concurrency=1,
                additional_context={"runtime": runtime},
                install_signal_handlers=False,
                listen_notify=False,
            )
    finally:
        worker_app.periodic_registry.periodic_tasks = periodic


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The spec's error body, with the expected status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "timestamp"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", error["timestamp"])
    assert "Traceback" not in response.text
    return dict(error)


ROOT = Path(__file__).resolve().parents[1]
