"""The ingest path: stored once, with source, attachments, threads and a searchable text."""

from __future__ import annotations

import uuid
import zlib
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from mailmind.message.ingest import IncomingMessage, ingest_batch, prepare_messages
from mailmind.models import Attachment, Folder, MailAccount, Message, MessageSource, Thread
from tests.conftest import create_user

SAMPLES = Path(__file__).parent / "samples"
BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def mail(
    subject: str,
    *,
    mid: str | None = None,
    sender: str = "ann@example.com",
    to: str = "bob@example.com",
    body: str = "Hello there, this is a message.",
    in_reply_to: str | None = None,
    references: str | None = None,
    date: datetime = BASE,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{mid or uuid.uuid4().hex}@example.com>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}@example.com>"
    if references:
        msg["References"] = " ".join(f"<{r}@example.com>" for r in references.split())
    msg.set_content(body)
    return bytes(msg)


async def setup_account(runtime, session, kind: str = "imap") -> tuple[MailAccount, Folder]:
    user = await create_user(runtime)
    account = MailAccount(user_id=user.id, kind=kind, email=user.email)
    session.add(account)
    await session.flush()
    folder = Folder(
        account_id=account.id, user_id=user.id, name="INBOX", path="INBOX", role="inbox"
    )
    session.add(folder)
    await session.flush()
    return account, folder


async def test_batch_is_stored_with_source_attachments_and_flags(runtime):
    raw_inline = (SAMPLES / "attachment_inline.eml").read_bytes()
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session)
        items = [
            IncomingMessage(raw=mail("First"), uid=1, uidvalidity=7, flags=("\\Seen",)),
            IncomingMessage(raw=raw_inline, uid=2, uidvalidity=7, flags=("\\Flagged", "$Work")),
        ]
        result = await ingest_batch(session, runtime, account=account, folder=folder, items=items)
        await session.commit()

        assert len(result.stored) == 2 and result.duplicates == 0
        first, second = [await session.get(Message, mid) for mid in result.stored]
        assert first.subject == "First" and first.is_read and not first.is_starred
        assert second.is_starred and not second.is_read and second.keywords == ["$Work"]
        source = await session.get(MessageSource, second.id)
        assert zlib.decompress(source.raw) == raw_inline
        attachments = (
            await session.scalars(select(Attachment).where(Attachment.message_id == second.id))
        ).all()
        assert attachments and all(a.sha256 and a.size == len(a.content) for a in attachments)
        cid = [a for a in attachments if a.content_id]
        if cid and second.body_html:
            assert f"/api/emails/{second.id}/attachments/{cid[0].id}" in second.body_html
        await session.refresh(folder)
        assert (folder.total_count, folder.unread_count) == (2, 1)


async def test_known_uids_are_skipped_so_a_retried_batch_adds_nothing(runtime):
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session)
        items = [IncomingMessage(raw=mail(f"M{i}"), uid=i, uidvalidity=1) for i in range(1, 6)]
        await ingest_batch(session, runtime, account=account, folder=folder, items=items[:3])
        await session.commit()
        again = await ingest_batch(session, runtime, account=account, folder=folder, items=items)
        await session.commit()
        assert again.duplicates == 3 and len(again.stored) == 2
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.folder_id == folder.id)
        )
        assert count == 5


async def test_import_dedupes_by_message_id_and_else_by_raw_hash(runtime):
    no_id = b"From: a@example.com\r\nSubject: no id\r\n\r\nbody\r\n"
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session, kind="local")
        batch = [
            IncomingMessage(raw=mail("One", mid="same")),
            IncomingMessage(raw=mail("One again", mid="same")),
            IncomingMessage(raw=no_id),
            IncomingMessage(raw=no_id),
        ]
        result = await ingest_batch(
            session, runtime, account=account, folder=folder, items=batch, dedupe="message_id"
        )
        assert len(result.stored) == 2 and result.duplicates == 2
        again = await ingest_batch(
            session, runtime, account=account, folder=folder, items=batch, dedupe="message_id"
        )
        assert again.stored == [] and again.duplicates == 4


async def test_a_row_that_lost_its_uid_is_adopted_keeping_its_id(runtime):
    raw = mail("Moved", mid="moved")
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session)
        first = await ingest_batch(
            session,
            runtime,
            account=account,
            folder=folder,
            items=[IncomingMessage(raw=raw, uid=10, uidvalidity=1)],
        )
        message = await session.get(Message, first.stored[0])
        message.uid = None  # what a UIDVALIDITY change or a move without COPYUID leaves
        message.category = "work"
        await session.flush()
        again = await ingest_batch(
            session,
            runtime,
            account=account,
            folder=folder,
            items=[IncomingMessage(raw=raw, uid=99, uidvalidity=2, flags=("\\Seen",))],
        )
        assert again.stored == [] and again.adopted == [message.id]
        await session.refresh(message)
        assert (message.uid, message.uidvalidity, message.is_read) == (99, 2, True)
        assert message.category == "work"


async def test_replies_join_the_thread_of_their_parent_in_any_order(runtime):
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session)
        reply = mail("Re: Plan", mid="r1", in_reply_to="p1", references="p1", date=BASE)
        # The reply arrives before its parent; a grandchild comes in a later batch.
        await ingest_batch(
            session,
            runtime,
            account=account,
            folder=folder,
            items=[IncomingMessage(raw=reply, uid=2, uidvalidity=1)],
        )
        parent = mail("Plan", mid="p1", date=BASE - timedelta(hours=1))
        await ingest_batch(
            session,
            runtime,
            account=account,
            folder=folder,
            items=[IncomingMessage(raw=parent, uid=1, uidvalidity=1)],
        )
        child = mail("AW: Plan", mid="c1", in_reply_to="r1", references="p1 r1")
        await ingest_batch(
            session,
            runtime,
            account=account,
            folder=folder,
            items=[IncomingMessage(raw=child, uid=3, uidvalidity=1)],
        )
        await session.commit()
        threads = (
            await session.scalars(select(Thread).where(Thread.account_id == account.id))
        ).all()
        assert len(threads) == 1
        assert threads[0].message_count == 3
        assert threads[0].first_message_at == BASE - timedelta(hours=1)


async def test_two_threads_merge_when_a_message_links_them(runtime):
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session)
        a = mail("A", mid="a")
        b = mail("B", mid="b")
        both = mail("Re: A", mid="ab", references="a b")
        for uid, raw in enumerate([a, b, both], start=1):
            await ingest_batch(
                session,
                runtime,
                account=account,
                folder=folder,
                items=[IncomingMessage(raw=raw, uid=uid, uidvalidity=1)],
            )
        await session.commit()
        tids = set(
            await session.scalars(select(Message.thread_id).where(Message.account_id == account.id))
        )
        assert len(tids) == 1
        count = await session.scalar(
            select(func.count()).select_from(Thread).where(Thread.account_id == account.id)
        )
        assert count == 1


async def test_subject_fallback_needs_a_shared_participant_and_30_days(runtime):
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session)
        items = [
            mail("Quarterly report", mid="q1", sender="ann@example.com", date=BASE),
            # No references, same subject, same people, 2 days later: same thread.
            mail("AW: Quarterly report", mid="q2", sender="bob@example.com",
                 to="ann@example.com", date=BASE + timedelta(days=2)),
            # Same subject but strangers: a thread of its own.
            mail("Re: Quarterly report", mid="q3", sender="x@other.org",
                 to="y@other.org", date=BASE + timedelta(days=3)),
            # Same people, 60 days later: a new conversation.
            mail("Quarterly report", mid="q4", sender="ann@example.com",
                 date=BASE + timedelta(days=60)),
        ]  # fmt: skip
        for uid, raw in enumerate(items, start=1):
            await ingest_batch(
                session,
                runtime,
                account=account,
                folder=folder,
                items=[IncomingMessage(raw=raw, uid=uid, uidvalidity=1)],
            )
        tids = list(
            await session.scalars(
                select(Message.thread_id)
                .where(Message.account_id == account.id)
                .order_by(Message.uid)
            )
        )
        assert tids[0] == tids[1]
        assert tids[2] not in (tids[0], tids[3])
        assert tids[3] != tids[0]


async def test_text_is_searchable_in_the_messages_language(runtime):
    german = "Sehr geehrte Damen und Herren, bitte senden Sie mir die Rechnungen für den Monat."
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session)
        await ingest_batch(
            session,
            runtime,
            account=account,
            folder=folder,
            items=[
                IncomingMessage(raw=mail("Anfrage", body=german), uid=1, uidvalidity=1),
                IncomingMessage(
                    raw=mail("Invoices", body="Please send the invoices for the month."),
                    uid=2,
                    uidvalidity=1,
                ),
            ],
        )
        rows = (
            await session.execute(
                text(
                    "SELECT subject, language FROM messages WHERE account_id = :a AND "
                    "search_vector @@ websearch_to_tsquery(language::regconfig, :q)"
                ),
                {"a": account.id, "q": "Rechnung"},
            )
        ).all()
        assert rows == [("Anfrage", "german")]
        english = await session.scalar(
            text(
                "SELECT subject FROM messages WHERE account_id = :a AND "
                "search_vector @@ to_tsquery('english', 'invoice')"
            ),
            {"a": account.id},
        )
        assert english == "Invoices"
        by_sender = await session.scalar(
            text(
                "SELECT count(*) FROM messages WHERE account_id = :a AND "
                "search_vector @@ to_tsquery('simple', 'ann')"
            ),
            {"a": account.id},
        )
        assert by_sender == 2


async def test_malformed_messages_are_stored_with_their_defects(runtime):
    samples = sorted(SAMPLES.glob("*.eml"))
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session)
        items = [
            IncomingMessage(raw=path.read_bytes(), uid=i, uidvalidity=1)
            for i, path in enumerate(samples, start=1)
        ]
        items.append(IncomingMessage(raw=b"\x00\xff garbage without headers", uid=999))
        result = await ingest_batch(session, runtime, account=account, folder=folder, items=items)
        await session.commit()
        assert len(result.stored) == len(items)
        defects = await session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.account_id == account.id, Message.parse_defects != text("'[]'::jsonb"))
        )
        assert defects >= 1


async def test_a_batch_parsed_ahead_is_stored_like_one_parsed_here(runtime):
    """The sync parses the next batch while this one is stored and hands it in ``prepared``:
    known UIDs are still skipped with their parse, attachments and broken mail still stored."""
    raw_inline = (SAMPLES / "attachment_inline.eml").read_bytes()
    garbage = b"\x00\xff garbage without headers"
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session)
        await ingest_batch(
            session,
            runtime,
            account=account,
            folder=folder,
            items=[IncomingMessage(raw=mail("Known"), uid=1, uidvalidity=7)],
        )
        items = [
            IncomingMessage(raw=mail("Known"), uid=1, uidvalidity=7),
            IncomingMessage(raw=raw_inline, uid=2, uidvalidity=7),
            IncomingMessage(raw=garbage, uid=3, uidvalidity=7),
            IncomingMessage(raw=mail("Last"), uid=4, uidvalidity=7),
        ]
        prepared = await prepare_messages(runtime, [item.raw for item in items])
        with pytest.raises(ValueError, match="one to one"):
            await ingest_batch(
                session, runtime, account=account, folder=folder, items=items, prepared=prepared[1:]
            )
        result = await ingest_batch(
            session, runtime, account=account, folder=folder, items=items, prepared=prepared
        )
        await session.commit()

        assert result.duplicates == 1 and len(result.stored) == 3
        rows = {
            m.uid: m
            for m in await session.scalars(select(Message).where(Message.folder_id == folder.id))
        }
        assert sorted(rows) == [1, 2, 3, 4]
        assert rows[4].subject == "Last"
        assert rows[3].parse_error or rows[3].parse_defects
        attachments = (
            await session.scalars(select(Attachment).where(Attachment.message_id == rows[2].id))
        ).all()
        assert attachments and all(a.size == len(a.content) for a in attachments)
        source = await session.get(MessageSource, rows[3].id)
        assert zlib.decompress(source.raw) == garbage


async def test_one_message_merging_three_threads_leaves_one(runtime):
    async with runtime.db.session() as session:
        account, folder = await setup_account(runtime, session)
        for uid, mid in enumerate(["a", "b", "c"], start=1):
            await ingest_batch(
                session,
                runtime,
                account=account,
                folder=folder,
                items=[IncomingMessage(raw=mail(mid.upper(), mid=mid), uid=uid, uidvalidity=1)],
            )
        await ingest_batch(
            session,
            runtime,
            account=account,
            folder=folder,
            items=[IncomingMessage(raw=mail("Re: all", mid="abc", references="a b c"), uid=9)],
        )
        await session.commit()
        tids = set(
            await session.scalars(select(Message.thread_id).where(Message.account_id == account.id))
        )
        assert len(tids) == 1
        thread = (
            await session.scalars(select(Thread).where(Thread.account_id == account.id))
        ).one()
        assert thread.id in tids and thread.message_count == 4
