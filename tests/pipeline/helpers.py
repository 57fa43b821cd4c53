"""Mail, accounts and ingest for the pipeline tests."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from sqlalchemy import select

from mailmind.message.ingest import IncomingMessage, ingest_batch
from mailmind.models import AIResult, Folder, MailAccount, Message
from mailmind.runtime import Runtime
from tests.conftest import create_user

BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
_uids = itertools.count(1)


def mail(
    subject: str,
    body: str = "Hello there, this is a message.",
    *,
    sender: str = "ann@example.com",
    to: str = "bob@example.com",
    mid: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(BASE)
    msg["Message-ID"] = f"<{mid or uuid.uuid4().hex}@example.com>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return bytes(msg)


async def make_account(
    runtime: Runtime, *, user: Any = None, ai_enabled: bool = True
) -> tuple[Any, MailAccount]:
    """A user and a mail account without servers (no sync watches it)."""
    user = user or await create_user(runtime)
    async with runtime.db.session() as session:
        account = MailAccount(
            user_id=user.id,
            kind="local",
            email=f"box-{uuid.uuid4().hex[:6]}@example.com",
            ai_enabled=ai_enabled,
        )
        session.add(account)
        await session.flush()
        session.expunge(account)
    return user, account


async def make_folder(runtime: Runtime, account: MailAccount, path: str, role: str) -> Folder:
    async with runtime.db.session() as session:
        folder = Folder(
            account_id=account.id, user_id=account.user_id, name=path, path=path, role=role
        )
        session.add(folder)
        await session.flush()
        session.expunge(folder)
    return folder


async def ingest(
    runtime: Runtime,
    account: MailAccount,
    folder: Folder,
    raws: list[bytes],
    **options: Any,
) -> list[uuid.UUID]:
    """Store ``raws`` through the real ingest path (which enqueues the pipeline)."""
    async with runtime.db.session() as session:
        account = await session.merge(account)
        folder = await session.merge(folder)
        by_id = options.get("dedupe") == "message_id"
        items = [
            IncomingMessage(raw=raw, uid=None if by_id else next(_uids), uidvalidity=1)
            for raw in raws
        ]
        result = await ingest_batch(
            session, runtime, account=account, folder=folder, items=items, **options
        )
        return result.stored


async def results_of(runtime: Runtime, message_id: uuid.UUID) -> dict[str, AIResult]:
    async with runtime.db.session() as session:
        rows = await session.scalars(select(AIResult).where(AIResult.message_id == message_id))
        return {r.feature: r for r in rows}


async def message(runtime: Runtime, message_id: uuid.UUID) -> Message:
    async with runtime.db.session() as session:
        found = await session.get(Message, message_id)
        assert found is not None
        return found
