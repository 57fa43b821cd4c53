"""Factories: plain async functions that insert ORM rows directly (no API, no jobs).

    account = await create_account(session, user)
    inbox = await create_folder(session, account, role="inbox")
    message = await create_message(session, account, inbox, subject="Invoice")

Each flushes and returns the row; the caller's session commits.
"""

from __future__ import annotations

import hashlib
import uuid
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.kit.time import utcnow
from mailmind.models import (
    Attachment,
    Folder,
    MailAccount,
    Message,
    MessageSource,
    MessageTag,
    Tag,
    Thread,
)

ROLE_PATHS = {
    "inbox": "INBOX",
    "sent": "Sent",
    "drafts": "Drafts",
    "archive": "Archive",
    "trash": "Trash",
    "spam": "Junk",
}


async def create_account(session: AsyncSession, user: Any, **kw: Any) -> MailAccount:
    """A mail account of ``user`` (any object with ``id``); kind ``imap`` unless given."""
    values: dict[str, Any] = {
        "user_id": user.id,
        "kind": "imap",
        "email": f"box-{uuid.uuid4().hex[:8]}@example.com",
        "sync_state": "idle",
    }
    if kw.get("kind", "imap") != "local":
        values.update(
            imap_host="imap.example.com",
            imap_port=993,
            imap_security="ssl",
            imap_username=values["email"],
            smtp_host="smtp.example.com",
            smtp_port=465,
            smtp_security="ssl",
            smtp_username=values["email"],
        )
    values.update(kw)
    account = MailAccount(**values)
    session.add(account)
    await session.flush()
    return account


async def create_folder(
    session: AsyncSession,
    account: MailAccount,
    *,
    role: str = "custom",
    path: str | None = None,
    name: str | None = None,
    parent: Folder | None = None,
    delimiter: str | None = "/",
    **kw: Any,
) -> Folder:
    """A folder; ``path`` defaults to the usual name of ``role`` (``INBOX``, ``Trash``, …)."""
    if path is None:
        leaf = name or ROLE_PATHS.get(role) or f"Folder-{uuid.uuid4().hex[:6]}"
        path = f"{parent.path}{delimiter}{leaf}" if parent else leaf
    folder = Folder(
        account_id=account.id,
        user_id=account.user_id,
        parent_id=parent.id if parent else None,
        path=path,
        name=name or path.rsplit(delimiter or "/", 1)[-1],
        role=role,
        delimiter=delimiter,
        **kw,
    )
    session.add(folder)
    await session.flush()
    return folder


async def create_thread(session: AsyncSession, account: MailAccount, **kw: Any) -> Thread:
    thread = Thread(user_id=account.user_id, account_id=account.id, **kw)
    session.add(thread)
    await session.flush()
    return thread


async def create_message(
    session: AsyncSession,
    account: MailAccount,
    folder: Folder | None,
    *,
    subject: str = "Hello",
    sender: tuple[str, str] = ("Ada Lovelace", "ada@example.com"),
    to: Sequence[tuple[str, str]] = (("Bob", "bob@example.com"),),
    date: datetime | None = None,
    body_text: str = "Hello there",
    thread: Thread | None = None,
    new_thread: bool = True,
    raw: bytes | None = None,
    tags: Sequence[Tag] = (),
    **kw: Any,
) -> Message:
    """A message in ``folder``. It gets its own thread unless ``thread`` is given or
    ``new_thread`` is false; with ``raw`` the compressed source is stored too."""
    date = date or utcnow() - timedelta(minutes=5)
    if thread is None and new_thread:
        thread = await create_thread(
            session, account, subject=subject, normalized_subject=subject.lower()
        )
    message = Message(
        user_id=account.user_id,
        account_id=account.id,
        folder_id=folder.id if folder else None,
        thread_id=thread.id if thread else None,
        subject=subject,
        sender_name=sender[0],
        sender_address=sender[1],
        to_addrs=[{"name": n, "address": a} for n, a in to],
        date=date,
        received_at=date,
        body_text=body_text,
        body_new_text=body_text,
        preview=body_text[:200],
        message_id_header=kw.pop("message_id_header", f"<{uuid.uuid4().hex}@example.com>"),
        **kw,
    )
    session.add(message)
    await session.flush()
    if raw is not None:
        session.add(
            MessageSource(
                message_id=message.id,
                raw=zlib.compress(raw),
                raw_size=len(raw),
                sha256=hashlib.sha256(raw).hexdigest(),
            )
        )
    for tag in tags:
        session.add(MessageTag(message_id=message.id, tag_id=tag.id, source=tag.source))
    if thread is not None:
        await _refresh_thread(session, thread.id)
    await session.flush()
    return message


async def _refresh_thread(session: AsyncSession, thread_id: uuid.UUID) -> None:
    from mailmind.thread.threading import refresh_threads

    await session.flush()
    await refresh_threads(session, {thread_id})


async def create_attachment(
    session: AsyncSession,
    message: Message,
    *,
    filename: str = "file.bin",
    content: bytes = b"\x00\x01data",
    content_type: str = "application/octet-stream",
    content_id: str | None = None,
    is_inline: bool = False,
) -> Attachment:
    attachment = Attachment(
        user_id=message.user_id,
        message_id=message.id,
        filename=filename,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        content_id=content_id,
        is_inline=is_inline,
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def create_tag(
    session: AsyncSession, user: Any, path: str, *, source: str = "user", color: str | None = None
) -> Tag:
    """The tag at ``path`` (created with its parents when missing)."""
    from mailmind.tag.service import ensure_tags

    (tag,) = await ensure_tags(session, user.id, [path], source=source)
    if color is not None:
        tag.color = color
        await session.flush()
    return tag
