"""Real mail through the parser and the ingest path: CPython's test_email data and the
SpamAssassin public corpus (6,046 messages), both fetched by ``scripts/test-deps.sh``."""

from __future__ import annotations

import collections
import hashlib
import re
import sysconfig
import traceback
import uuid
import zlib
from email import policy
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import cast, func, select
from sqlalchemy.dialects.postgresql import REGCONFIG

from mailmind.message.ingest import IncomingMessage, ingest_batch
from mailmind.message.parse import ParsedMessage, parse_message
from mailmind.models import Folder, MailAccount, Message, MessageSource
from tests.message.test_ingest import setup_account

ROOT = Path(__file__).resolve().parents[2]
SPAM_DIR = ROOT / ".cache" / "corpora" / "spam-assassin-0.2.3"
SPAM_GROUPS = {
    "easy-ham-1": 2500,
    "easy-ham-2": 1400,
    "hard-ham-1": 250,
    "spam-1": 500,
    "spam-2": 1396,
}
EMAIL_DATA = Path(sysconfig.get_path("stdlib")) / "test" / "test_email" / "data"
FETCH_HINT = "run scripts/test-deps.sh (make test does), which fetches the test corpora"

_MSGID = re.compile(r"<[^<>\s]+>")
# Inside a tag: an event handler attribute, or a javascript: URL in any attribute.
_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
_JS_URL = re.compile(r"<[^>]*javascript\s*:", re.IGNORECASE)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def spam_messages(group: str) -> list[Path]:
    if not (SPAM_DIR / ".complete").is_file():
        pytest.fail(f"the SpamAssassin corpus is missing at {SPAM_DIR}: {FETCH_HINT}", False)
    paths = sorted((SPAM_DIR / "data" / group).glob("*.txt"))
    assert len(paths) == SPAM_GROUPS[group], f"{group}: {len(paths)} messages; {FETCH_HINT}"
    return paths


def email_data_messages() -> list[Path]:
    paths = sorted(EMAIL_DATA.glob("msg_*.txt"))
    if not paths:
        pytest.fail(f"CPython's test_email data is missing at {EMAIL_DATA}: {FETCH_HINT}", False)
    return paths


def _has_content(raw: bytes) -> bool:
    """Whether the standard library finds a MIME leaf part with something in it."""
    for part in BytesParser(policy=policy.compat32).parsebytes(raw).walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload.strip():
                return True
    return False


def problems(raw: bytes) -> tuple[ParsedMessage | None, list[str]]:
    """What is wrong with the parse of ``raw``, judged against the raw bytes and the standard
    library's own reading of the top-level headers."""
    try:
        m = parse_message(raw)
    except Exception:
        return None, [f"raised:\n{traceback.format_exc()}"]
    found: list[str] = []
    if m.size != len(raw) or m.raw_sha256 != hashlib.sha256(raw).hexdigest():
        found.append("size or raw_sha256 differ from the input")
    if m.parse_error is not None:
        found.append(f"parse_error: {m.parse_error}")
    found += [d for d in m.defects if d.startswith("parser_crashed")]

    strings = [m.subject, m.body_text, m.body_html or "", *m.headers.values(), *m.defects]
    strings += [m.message_id or "", m.in_reply_to or "", *m.references]
    strings += [a.filename for a in m.attachments]
    for address in [m.sender, *m.to, *m.cc, *m.bcc, *m.reply_to]:
        if address is not None:
            strings += [address.name, address.address]
    if any("\x00" in s for s in strings):
        found.append("NUL in text")
    if any(_LONE_SURROGATE.search(s) for s in strings):
        found.append("lone surrogate in text")
    if any(a.size != len(a.content) for a in m.attachments):
        found.append("attachment size differs from its content")

    if m.body_html is not None:
        if "<script" in m.body_html.lower():
            found.append("<script in body_html")
        if _HANDLER.search(m.body_html):
            found.append("on* handler in body_html")
        if _JS_URL.search(m.body_html):
            found.append("javascript: URL in body_html")

    header = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    subject = str(header.get("subject", "") or "")
    if subject.strip() and not m.subject:
        found.append(f"subject lost: {subject[:80]!r}")
    senders = [a for _, a in getaddresses([str(v) for v in header.get_all("from", [])]) if "@" in a]
    if senders and m.sender is None:
        found.append(f"sender lost: {senders[0]!r}")
    if _MSGID.search(str(header.get("message-id", ""))) and not m.message_id:
        found.append("message id lost")
    # body_html may be empty: the sanitiser drops what is unsafe (a page that is one iframe).
    something = m.body_text.strip() or m.body_html is not None or m.attachments or m.defects
    if not something and _has_content(raw):
        found.append("body lost: no text, HTML, attachment or defect")
    return m, found


def check_all(paths: list[Path], label: str) -> None:
    failures: dict[str, list[str]] = {}
    defects: collections.Counter[str] = collections.Counter()
    with_defects = 0
    for path in paths:
        m, found = problems(path.read_bytes())
        if found:
            failures[path.name] = found
        if m is not None and m.defects:
            with_defects += 1
            defects.update(d.split(":")[0] for d in m.defects)
    print(
        f"\n{label}: {len(paths)} messages, {with_defects} with defects"
        f" {dict(defects.most_common(8))}"
    )
    shown = "\n".join(f"{name}: {found}" for name, found in list(failures.items())[:20])
    assert not failures, f"{len(failures)} of {len(paths)} {label} messages:\n{shown}"


def test_cpython_test_email_messages_parse_cleanly():
    check_all(email_data_messages(), "CPython test_email")


def test_cpython_test_email_binary_files_are_taken_as_broken_mail():
    # The images and sounds beside the messages: not mail, but bytes a mailbox can hold.
    others = sorted(p for p in EMAIL_DATA.iterdir() if not p.name.startswith("msg_"))
    assert others, f"CPython's test_email data is missing at {EMAIL_DATA}: {FETCH_HINT}"
    for path in others:
        raw = path.read_bytes()
        m = parse_message(raw)
        assert (m.size, m.raw_sha256) == (len(raw), hashlib.sha256(raw).hexdigest())
        assert not any(d.startswith("parser_crashed") for d in m.defects), (path.name, m.defects)
        assert "\x00" not in m.subject + m.body_text, path.name


@pytest.mark.parametrize("group", sorted(SPAM_GROUPS))
def test_spamassassin_messages_parse_cleanly(group: str):
    check_all(spam_messages(group), f"SpamAssassin {group}")


# --- through the ingest path -------------------------------------------------------------------


def ingest_sample() -> list[tuple[str, bytes]]:
    """Every 10th message of the corpus, all groups: ~600 messages."""
    paths = [p for group in sorted(SPAM_GROUPS) for p in spam_messages(group)]
    return [(f"{p.parent.name}/{p.name}", p.read_bytes()) for p in paths[::10]]


def _longest_word(subject: str) -> str | None:
    words = re.findall(r"[A-Za-z]{5,}", subject)
    return max(words, key=len) if words else None


async def test_spamassassin_sample_is_stored_and_found_by_subject(runtime):
    sample = ingest_sample()
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session)
        stored = []
        for start in range(0, len(sample), 50):
            batch = [
                IncomingMessage(raw=raw, uid=start + i + 1, uidvalidity=1)
                for i, (_, raw) in enumerate(sample[start : start + 50])
            ]
            result = await ingest_batch(
                session, runtime, account=account, folder=folder, items=batch
            )
            await session.commit()
            assert (len(result.stored), result.duplicates, result.failed) == (len(batch), 0, 0)
            stored += result.stored

        by_uid = {
            row.uid: row
            for row in (
                await session.execute(
                    select(
                        Message.id,
                        Message.uid,
                        Message.subject,
                        Message.language,
                        Message.parse_error,
                        MessageSource.sha256,
                        MessageSource.raw_size,
                    )
                    .join(MessageSource, MessageSource.message_id == Message.id)
                    .where(Message.folder_id == folder.id)
                )
            ).all()
        }
        assert len(by_uid) == len(sample) == len(stored)
        for uid, (name, raw) in enumerate(sample, start=1):
            row = by_uid[uid]
            assert (row.sha256, row.raw_size) == (hashlib.sha256(raw).hexdigest(), len(raw)), name
            assert row.parse_error is None, (name, row.parse_error)
        some = by_uid[len(sample) // 2]
        source = await session.get(MessageSource, some.id)
        assert zlib.decompress(source.raw) == sample[len(sample) // 2 - 1][1]
        await session.refresh(folder)
        assert folder.total_count == len(sample)

        # A handful spread over the sample, found by a word of their subject: messages indexed
        # with 'simple' (no language recognised) through plainto_tsquery('simple', …), the
        # others through the configuration they were indexed with, which stems the word alike.
        probes: dict[bool, list[tuple[int, str]]] = {True: [], False: []}
        for uid in range(1, len(sample) + 1):
            word = _longest_word(by_uid[uid].subject)
            simple = by_uid[uid].language == "simple"
            # 'simple' is rarer (a few percent): take the first ones; spread out the others.
            if word and len(probes[simple]) < 4 and (simple or uid % 37 == 1):
                probes[simple].append((uid, word))
        assert len(probes[True]) == len(probes[False]) == 4, probes
        for uid, word in probes[True] + probes[False]:
            config = by_uid[uid].language
            query = func.plainto_tsquery(cast(config, REGCONFIG), word)
            hits = set(
                await session.scalars(
                    select(Message.uid).where(
                        Message.folder_id == folder.id, Message.search_vector.op("@@")(query)
                    )
                )
            )
            assert uid in hits, (sample[uid - 1][0], by_uid[uid].subject, config, word)
            assert len(hits) < len(sample), word  # the query selects, it does not match all


# --- arbitrary bytes through the ingest path ---------------------------------------------------


@pytest.fixture
async def fuzz_folder(runtime) -> tuple[uuid.UUID, uuid.UUID]:
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session)
        await session.commit()
    return account.id, folder.id


_uids = iter(range(1, 10**9))


# Each example is a database round trip, so few; they share one folder (new UID each time),
# which is why the function-scoped fixture is fine here.
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(raw=st.binary(max_size=3000))
async def test_arbitrary_bytes_are_stored_by_ingest(runtime, fuzz_folder, raw: bytes):
    account_id, folder_id = fuzz_folder
    uid = next(_uids)
    async with runtime.db.session() as session:
        account = await session.get(MailAccount, account_id)
        folder = await session.get(Folder, folder_id)
        result = await ingest_batch(
            session,
            runtime,
            account=account,
            folder=folder,
            items=[IncomingMessage(raw=raw, uid=uid, uidvalidity=1)],
        )
        await session.commit()
        assert (len(result.stored), result.duplicates, result.failed) == (1, 0, 0)
        source = await session.get(MessageSource, result.stored[0])
        assert zlib.decompress(source.raw) == raw
