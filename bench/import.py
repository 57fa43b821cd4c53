"""Throughput of ``mailmind import``: a generated mbox through the import service.

Generates a realistic mbox (default 20,000 messages) from varied templates — plain and HTML
mail, replies in threads, newsletters, German and English text, quoted-printable and base64
bodies, attachments — and imports it in-process exactly as ``mailmind import`` does, into a
temporary embedded PostgreSQL (deleted at the end) unless ``--database-url`` names one.
Prints messages per second for reading the file alone and for the whole import.

    .venv/bin/python bench/import.py [--messages 20000] [--seed 1] [--profile 30]

``--profile N`` prints the N functions with the most cumulative time (cProfile).
Nothing is written to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

PASSWORD = "violet-harbour-lantern-42"  # noqa: S105 - the throwaway bench user

PEOPLE = [
    ("Anna Schmidt", "anna.schmidt@example.de"),
    ("Ben Carter", "ben@carter.example.com"),
    ("Chloé Martin", "chloe.martin@example.fr"),
    ("Deniz Yılmaz", "deniz@example.com.tr"),
    ("Eva Novak", "eva.novak@example.cz"),
    ("Finance Team", "finance@corp.example.com"),
    ("GitHub", "notifications@github.example.com"),
    ("Newsletter", "news@shop.example.com"),
]
OWNER = ("Owner", "owner@example.org")
EN = [
    "Could you send me the latest figures before Friday?",
    "Thanks for the quick reply, that works for me.",
    "Attached is the contract draft; please review sections 3 and 4.",
    "The meeting is moved to Thursday at 10:00 in room B.",
    "Your order has shipped and will arrive within three business days.",
    "We noticed a new sign-in to your account from a new device.",
]
DE = [
    "Könntest du mir bitte bis Freitag die aktuellen Zahlen schicken?",
    "Danke für die schnelle Antwort, das passt mir gut.",
    "Anbei der Vertragsentwurf; bitte prüfe Abschnitt 3 und 4.",
    "Das Treffen ist auf Donnerstag, 10 Uhr, Raum B verschoben.",
    "Ihre Bestellung wurde versandt und kommt in drei Werktagen an.",
]


def paragraph(rng: random.Random, language: str, sentences: int) -> str:
    pool = DE if language == "de" else EN
    return " ".join(rng.choice(pool) for _ in range(sentences))


def build(rng: random.Random, index: int, history: list[tuple[str, str]]) -> EmailMessage:
    """One message from a template chosen at random (weights roughly like a real inbox)."""
    kind = rng.choices(
        ["plain", "reply", "html", "newsletter", "attachment", "notification"],
        weights=[30, 25, 15, 12, 8, 10],
    )[0]
    language = "de" if rng.random() < 0.35 else "en"
    sender = rng.choice(PEOPLE)
    date = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=17 * index)
    message = EmailMessage()
    message["From"] = f"{sender[0]} <{sender[1]}>"
    message["To"] = f"{OWNER[0]} <{OWNER[1]}>"
    if rng.random() < 0.2:
        other = rng.choice(PEOPLE)
        message["Cc"] = f"{other[0]} <{other[1]}>"
    message["Date"] = format_datetime(date)
    message_id = make_msgid(idstring=f"bench{index}", domain=sender[1].split("@")[1])
    message["Message-ID"] = message_id
    subject = f"{rng.choice(['Figures', 'Contract', 'Meeting', 'Order', 'Trip'])} #{index % 997}"
    body = "\n\n".join(
        paragraph(rng, language, rng.randint(2, 6)) for _ in range(rng.randint(1, 5))
    )
    if kind == "reply" and history:
        parent_id, parent_subject = rng.choice(history[-200:])
        subject = ("AW: " if language == "de" else "Re: ") + parent_subject
        message["In-Reply-To"] = parent_id
        message["References"] = parent_id
        quoted = "\n".join("> " + line for line in body.splitlines()[:6])
        body = paragraph(rng, language, 2) + "\n\nOn an earlier day someone wrote:\n" + quoted
    message["Subject"] = subject
    if kind == "html" or kind == "newsletter":
        message.set_content(body)
        items = "".join(
            f"<li>{paragraph(rng, language, 1)}</li>" for _ in range(rng.randint(3, 12))
        )
        html = (
            f"<html><body><h1>{subject}</h1><p>{body}</p><ul>{items}</ul>"
            '<p><img src="https://shop.example.com/pixel.gif" width="1" height="1"></p>'
            "</body></html>"
        )
        message.add_alternative(html, subtype="html")
        if kind == "newsletter":
            message["List-Unsubscribe"] = "<mailto:unsubscribe@shop.example.com>"
    else:
        # Long German lines become quoted-printable, the rest 7bit/8bit.
        message.set_content(body, cte="quoted-printable" if language == "de" else None)
    if kind == "attachment":
        message.add_attachment(
            rng.randbytes(rng.randint(2_000, 60_000)),
            maintype="application",
            subtype="pdf",
            filename=f"document-{index}.pdf",
        )
    if kind == "notification":
        message["Auto-Submitted"] = "auto-generated"
    history.append((message_id, subject))
    return message


def generate(path: Path, count: int, seed: int) -> int:
    """Write ``count`` messages as an mbox (mboxrd quoting); returns the file size."""
    rng = random.Random(seed)
    history: list[tuple[str, str]] = []
    gen_policy = policy.default.clone(linesep="\n")
    with path.open("wb") as handle:
        for index in range(count):
            out = BytesIO()
            BytesGenerator(out, policy=gen_policy).flatten(build(rng, index, history))
            raw = out.getvalue()
            lines = [
                b">" + line if line.lstrip(b">").startswith(b"From ") else line
                for line in raw.split(b"\n")
            ]
            handle.write(b"From bench@example.org Thu Jan  1 00:00:00 2025\n")
            handle.write(b"\n".join(lines).rstrip(b"\n") + b"\n\n")
    return path.stat().st_size


async def run(args: argparse.Namespace, workdir: Path) -> None:
    from mailmind.auth.service import create_user
    from mailmind.config import Settings
    from mailmind.imports import service
    from mailmind.imports.readers import iter_mbox
    from mailmind.jobs.queue import load_tasks
    from mailmind.migrate import upgrade
    from mailmind.runtime import Runtime

    mbox = workdir / "bench.mbox"
    started = time.perf_counter()
    size = generate(mbox, args.messages, args.seed)
    print(
        f"generated {args.messages} messages, {size / 2**20:.1f} MiB "
        f"in {time.perf_counter() - started:.1f} s"
    )

    started = time.perf_counter()
    read = sum(1 for _ in iter_mbox(mbox, max_message_bytes=50 * 2**20))
    elapsed = time.perf_counter() - started
    print(
        f"reading alone: {read} messages in {elapsed:.2f} s = {read / elapsed:,.0f} messages/s, "
        f"{size / 2**20 / elapsed:,.0f} MiB/s"
    )

    embedded = None
    url = args.database_url
    if url is None:
        from mailmind.embedded import EmbeddedPostgres

        embedded = EmbeddedPostgres(workdir)
        url = embedded.start()
    try:
        upgrade(url)
        load_tasks()
        settings = Settings(DATABASE_URL=url, MAILMIND_DATA_DIR=str(workdir), LOG_LEVEL="WARNING")
        runtime = Runtime.create(settings, url)
        try:
            async with runtime.db.session() as session:
                user = await create_user(
                    session, email=f"bench-{uuid.uuid4().hex[:8]}@example.org", password=PASSWORD
                )
                row = await service.create_import(
                    session, user_id=user.id, filename=mbox.name, enqueue=False
                )
            last = [time.perf_counter()]

            def progress(p: service.ImportProgress) -> None:
                now = time.perf_counter()
                if now - last[0] >= 10:
                    last[0] = now
                    print(f"  {p.processed}/{p.total}", flush=True)

            profiler = cProfile.Profile() if args.profile else None
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            result = await service.run_import(runtime, row.id, source=mbox, on_progress=progress)
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - started
        finally:
            await runtime.close()
    finally:
        if embedded is not None:
            embedded.stop()
    assert result is not None
    print(
        f"import: {result.imported} imported, {result.duplicates} duplicates, "
        f"{result.failed} failed of {result.total} in {elapsed:.1f} s "
        f"= {result.total / elapsed:,.1f} messages/s"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailmind-bench-import-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)  # the embedded server runs as another user when we are root
        asyncio.run(run(args, workdir))


if __name__ == "__main__":
    main()
