"""Queries of outgoing messages, uploads, idempotency keys and the folders sending uses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from mailmind.models import (
    Attachment,
    Folder,
    IdempotencyKey,
    MailAccount,
    Message,
    MessageSource,
    Notification,
)

IDEMPOTENCY_TTL = timedelta(hours=24)


async def get_account_by_id(session: AsyncSession, account_id: uuid.UUID) -> MailAccount | None:
    return await session.get(MailAccount, account_id)


async def user_addresses(session: AsyncSession, user_id: uuid.UUID) -> set[str]:
    """The addresses of all the user's accounts, lowercased: "own addresses" for reply-all."""
    rows = await session.scalars(select(MailAccount.email).where(MailAccount.user_id == user_id))
    return {email.lower() for email in rows}


async def get_message(
    session: AsyncSession, user_id: uuid.UUID, message_id: uuid.UUID, *, for_update: bool = False
) -> Message | None:
    query = select(Message).where(
        Message.id == message_id, Message.user_id == user_id, Message.deleted_at.is_(None)
    )
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def get_message_by_id(session: AsyncSession, message_id: uuid.UUID) -> Message | None:
    return await session.get(Message, message_id, populate_existing=True)


async def list_drafts(session: AsyncSession, user_id: uuid.UUID) -> Sequence[Message]:
    rows = await session.scalars(
        select(Message)
        .where(
            Message.user_id == user_id,
            Message.deleted_at.is_(None),
            Message.send_status.in_(("draft", "scheduled", "failed")),
        )
        .order_by(Message.updated_at.desc())
        .limit(500)
    )
    return rows.all()


async def find_by_message_id(
    session: AsyncSession, account_id: uuid.UUID, message_id_header: str
) -> Message | None:
    """A stored message of the account with this Message-ID (the original a reply answers)."""
    return await session.scalar(
        select(Message)
        .where(
            Message.account_id == account_id,
            Message.message_id_header == message_id_header,
            Message.deleted_at.is_(None),
        )
        .order_by(Message.send_status.is_not(None), Message.created_at)
        .limit(1)
    )


async def get_role_folder(session: AsyncSession, account_id: uuid.UUID, role: str) -> Folder | None:
    return await session.scalar(
        select(Folder)
        .where(Folder.account_id == account_id, Folder.role == role)
        .order_by(Folder.created_at)
        .limit(1)
    )


async def adjust_folder_total(session: AsyncSession, folder_id: uuid.UUID, delta: int) -> None:
    await session.execute(
        update(Folder)
        .where(Folder.id == folder_id)
        .values(total_count=func.greatest(Folder.total_count + delta, 0))
    )


# --- attachments ----------------------------------------------------------------------------


async def get_attachments(
    session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> Sequence[Attachment]:
    if not ids:
        return []
    rows = await session.scalars(
        select(Attachment).where(Attachment.id.in_(ids), Attachment.user_id == user_id)
    )
    return rows.all()


async def message_attachments(session: AsyncSession, message_id: uuid.UUID) -> Sequence[Attachment]:
    rows = await session.scalars(
        select(Attachment)
        .where(Attachment.message_id == message_id)
        .order_by(Attachment.created_at)
    )
    return rows.all()


async def link_attachments(
    session: AsyncSession, ids: Sequence[uuid.UUID], message_id: uuid.UUID
) -> None:
    if ids:
        await session.execute(
            update(Attachment).where(Attachment.id.in_(ids)).values(message_id=message_id)
        )


async def unlink_attachments(
    session: AsyncSession, message_id: uuid.UUID, keep: Sequence[uuid.UUID]
) -> None:
    """Detach the message's attachments not in ``keep``; they become unused uploads again."""
    await session.execute(
        update(Attachment)
        .where(Attachment.message_id == message_id, Attachment.id.not_in(keep or [uuid.uuid4()]))
        .values(message_id=None)
    )


async def purge_unused_uploads(session: AsyncSession, older_than: datetime) -> int:
    result = await session.execute(
        delete(Attachment).where(
            Attachment.message_id.is_(None), Attachment.created_at < older_than
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def get_source(session: AsyncSession, message_id: uuid.UUID) -> MessageSource | None:
    return await session.get(MessageSource, message_id)


# --- send state -----------------------------------------------------------------------------


async def transition(
    session: AsyncSession,
    message_id: uuid.UUID,
    *,
    from_states: Sequence[str],
    values: dict[str, Any],
    match_send_at: bool = False,
    expected_send_at: datetime | None = None,
) -> bool:
    """Compare-and-set of ``send_status``: update the row only if its status is one of
    ``from_states`` (and, with ``match_send_at``, its ``send_at`` is ``expected_send_at``).
    True when it changed."""
    query = update(Message).where(Message.id == message_id, Message.send_status.in_(from_states))
    if match_send_at:
        query = query.where(Message.send_at.is_not_distinct_from(expected_send_at))
    result = await session.execute(
        query.values(**values).returning(Message.id).execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def set_search_vector(
    session: AsyncSession, message_id: uuid.UUID, vector: ColumnElement[Any]
) -> None:
    await session.execute(
        update(Message)
        .where(Message.id == message_id)
        .values(search_vector=vector)
        .execution_options(synchronize_session=False)
    )


async def mark_answered(
    session: AsyncSession, account_id: uuid.UUID, message_id_header: str
) -> list[uuid.UUID]:
    """Set ``is_answered`` on every received copy of the message; return their ids."""
    rows = await session.scalars(
        update(Message)
        .where(
            Message.account_id == account_id,
            Message.message_id_header == message_id_header,
            Message.send_status.is_(None),
            Message.deleted_at.is_(None),
        )
        .values(is_answered=True)
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )
    return list(rows)


def add_notification(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    type: str,
    title: str,
    body: str,
    message_id: uuid.UUID | None,
) -> Notification:
    notification = Notification(
        user_id=user_id, type=type, title=title[:300], body=body, message_id=message_id
    )
    session.add(notification)
    return notification


# --- idempotency ----------------------------------------------------------------------------


async def claim_idempotency_key(
    session: AsyncSession, user_id: uuid.UUID, key: str, request_hash: str, now: datetime
) -> uuid.UUID | None:
    """Insert the key for this request; None when it already exists. A concurrent request with
    the same key waits here until the first one's transaction ends (unique index)."""
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at < now - IDEMPOTENCY_TTL,
        )
    )
    result = await session.execute(
        insert(IdempotencyKey)
        .values(user_id=user_id, key=key, request_hash=request_hash, status_code=0, response={})
        .on_conflict_do_nothing(constraint="uq_idempotency_keys_user_key")
        .returning(IdempotencyKey.id)
    )
    return result.scalar_one_or_none()


async def get_idempotency_key(
    session: AsyncSession, user_id: uuid.UUID, key: str
) -> IdempotencyKey | None:
    return await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )


async def store_idempotent_response(
    session: AsyncSession, row_id: uuid.UUID, status_code: int, response: dict[str, Any]
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == row_id)
        .values(status_code=status_code, response=response)
    )
