"""Queries on messages: filtered keyset lists, conversations, attachments, sources, AI results."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from sqlalchemy import ColumnElement, Table, and_, exists, false, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defer, load_only

from mailmind.kit.time import utcnow
from mailmind.models import (
    AIFeedback,
    AIResult,
    Attachment,
    Folder,
    Message,
    MessageSource,
    MessageTag,
    Notification,
    Thread,
)
from mailmind.tag.repository import subtree_ids

# Unified views (no folder chosen) leave these out, PRODUCT_SPEC §2.4.
HIDDEN_ROLES = ("spam", "trash")


@dataclass(frozen=True)
class MessageFilter:
    user_id: uuid.UUID
    account_id: uuid.UUID | None = None
    folder_id: uuid.UUID | None = None
    folder_role: str | None = None
    category: str | None = None
    priority_band: str | None = None
    tag: str | None = None
    is_read: bool | None = None
    is_starred: bool | None = None
    has_attachments: bool | None = None
    snoozed: bool | None = None
    send_status: str | None = None


def _folders(user_id: uuid.UUID, account_id: uuid.UUID | None) -> Any:
    query = select(Folder.id).where(Folder.user_id == user_id)
    if account_id is not None:
        query = query.where(Folder.account_id == account_id)
    return query


def filter_conditions(f: MessageFilter) -> list[ColumnElement[bool]]:
    """The rows of the view ``f`` describes. A view over more than one folder shows each mail
    once (PRODUCT_SPEC §2.2): of the copies with the same ``dedupe_key`` that match the view
    (the same Message-ID in INBOX and an archive folder, or in two accounts), the oldest row."""
    conditions = _view_conditions(f, Message)
    if f.folder_id is None:
        copy = aliased(Message)
        conditions.append(
            or_(
                Message.dedupe_key.is_(None),
                ~exists(
                    select(copy.id).where(
                        copy.dedupe_key == Message.dedupe_key,
                        copy.id < Message.id,
                        *_view_conditions(f, copy),
                    )
                ),
            )
        )
    return conditions


def _view_conditions(f: MessageFilter, row: Any) -> list[ColumnElement[bool]]:
    """``f``'s conditions on ``row`` (the ``Message`` entity or an alias of it)."""
    conditions: list[ColumnElement[bool]] = [
        row.user_id == f.user_id,
        row.deleted_at.is_(None),
    ]
    if f.account_id is not None:
        conditions.append(row.account_id == f.account_id)
    if f.folder_id is not None:
        conditions.append(row.folder_id == f.folder_id)
    elif f.folder_role is not None:
        folders = _folders(f.user_id, f.account_id).where(Folder.role == f.folder_role)
        conditions.append(row.folder_id.in_(folders))
    elif f.send_status is None:
        # Mail in a mailbox, outside Spam and Trash; outgoing mail without a folder only shows in
        # its send_status view.
        folders = _folders(f.user_id, f.account_id).where(Folder.role.not_in(HIDDEN_ROLES))
        conditions.append(row.folder_id.in_(folders))
    if f.send_status is not None:
        conditions.append(row.send_status == f.send_status)
    if f.snoozed:
        conditions.append(row.snoozed_until.is_not(None))
    else:
        conditions.append(row.snoozed_until.is_(None))
    if f.category is not None:
        conditions.append(row.category == f.category)
    if f.priority_band is not None:
        conditions.append(row.priority_band == f.priority_band)
    if f.is_read is not None:
        conditions.append(row.is_read.is_(f.is_read))
    if f.is_starred is not None:
        conditions.append(row.is_starred.is_(f.is_starred))
    if f.has_attachments is not None:
        conditions.append(row.has_attachments.is_(f.has_attachments))
    if f.tag is not None:
        conditions.append(
            exists(
                select(MessageTag.message_id).where(
                    MessageTag.message_id == row.id, subtree_ids(f.user_id, f.tag)
                )
            )
        )
    return conditions


# What a list row (EmailSummary) and its cursor read. Lists load only these: the bodies, the
# headers and the search vector of 50 messages are most of their bytes and none of the row.
SUMMARY_LOAD = load_only(
    *(
        Message.id, Message.user_id, Message.account_id, Message.folder_id, Message.thread_id,
        Message.subject, Message.sender_name, Message.sender_address, Message.to_addrs,
        Message.date, Message.preview, Message.is_read, Message.is_starred,
        Message.has_attachments, Message.category, Message.needs_review, Message.priority,
        Message.priority_band, Message.snoozed_until, Message.send_status, Message.ai_status,
        Message.dedupe_key,
    ),
    raiseload=True,
)  # fmt: skip


@dataclass(frozen=True)
class SortKey:
    """One column of a descending keyset order; ``nulls_first`` as PostgreSQL orders it."""

    column: Any
    nulls_first: bool
    kind: str  # how cursor values are encoded: "datetime", "int" or "uuid"


DATE_KEYS = (
    SortKey(Message.date, True, "datetime"),
    SortKey(Message.id, False, "uuid"),
)
PRIORITY_KEYS = (
    SortKey(Message.priority, False, "int"),
    SortKey(Message.date, True, "datetime"),
    SortKey(Message.id, False, "uuid"),
)
THREAD_KEYS = (
    SortKey(Thread.last_message_at, True, "datetime"),
    SortKey(Thread.id, False, "uuid"),
)
SORTS = {"date_desc": DATE_KEYS, "priority_desc": PRIORITY_KEYS}


def order_by(keys: Sequence[SortKey]) -> list[Any]:
    return [
        k.column.desc().nulls_first() if k.nulls_first else k.column.desc().nulls_last()
        for k in keys
    ]


def _equal(key: SortKey, value: Any) -> ColumnElement[bool]:
    return key.column.is_(None) if value is None else key.column == value  # type: ignore[no-any-return]


def _after(key: SortKey, value: Any) -> ColumnElement[bool] | None:
    """Rows that come after ``value`` in this column's descending order."""
    if value is None:
        return key.column.is_not(None) if key.nulls_first else None
    if key.nulls_first:
        return key.column < value  # type: ignore[no-any-return]
    return or_(key.column < value, key.column.is_(None))


def after_cursor(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """The keyset condition: rows strictly after ``values`` in ``keys``' order."""
    if all(v is not None for v in values) and all(k.nulls_first for k in keys[:-1]):
        # No NULL can follow: a row comparison, which PostgreSQL turns into an index bound.
        return tuple_(*(k.column for k in keys)) < tuple_(*values)
    branches = []
    for i, key in enumerate(keys):
        step = _after(key, values[i])
        if step is None:
            continue
        branches.append(
            and_(*(_equal(k, v) for k, v in zip(keys[:i], values[:i], strict=True)), step)
        )
    return or_(*branches) if branches else false()


async def list_messages(
    session: AsyncSession,
    f: MessageFilter,
    *,
    keys: Sequence[SortKey],
    after: Sequence[Any] | None,
    limit: int,
) -> list[Message]:
    query = select(Message).options(SUMMARY_LOAD).where(*filter_conditions(f))
    if after is not None:
        query = query.where(after_cursor(keys, after))
    query = query.order_by(*order_by(keys)).limit(limit)
    return list((await session.scalars(query)).all())


async def get_message(session: AsyncSession, message_id: uuid.UUID) -> Message | None:
    return await session.get(Message, message_id)


async def messages_by_ids(
    session: AsyncSession, user_id: uuid.UUID, ids: Sequence[uuid.UUID], *, lock: bool = False
) -> list[Message]:
    """The user's messages among ``ids`` (deleted ones included), in a stable lock order."""
    if not ids:
        return []
    query = (
        select(Message)
        .where(Message.user_id == user_id, Message.id.in_(list(ids)))
        .order_by(Message.id)
    )
    if lock:
        query = query.with_for_update()
    return list((await session.scalars(query)).all())


async def messages_with_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID], *, summary: bool = False
) -> list[Message]:
    """The messages with these ids; with ``summary`` only what a list row reads
    (:data:`SUMMARY_LOAD`)."""
    if not ids:
        return []
    query = select(Message).where(Message.id.in_(list(ids)))
    if summary:
        query = query.options(SUMMARY_LOAD)
    return list((await session.scalars(query)).all())


async def attachments(
    session: AsyncSession, message_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Attachment]]:
    """Attachment metadata (never the content) per message."""
    result: dict[uuid.UUID, list[Attachment]] = {mid: [] for mid in message_ids}
    if not message_ids:
        return result
    rows = await session.scalars(
        select(Attachment)
        .options(defer(Attachment.content), defer(Attachment.extracted_text))
        .where(Attachment.message_id.in_(list(message_ids)))
        .order_by(Attachment.created_at, Attachment.id)
    )
    for attachment in rows:
        if attachment.message_id is not None:
            result[attachment.message_id].append(attachment)
    return result


async def get_attachment(
    session: AsyncSession, message_id: uuid.UUID, attachment_id: uuid.UUID
) -> Attachment | None:
    return await session.scalar(
        select(Attachment).where(
            Attachment.id == attachment_id, Attachment.message_id == message_id
        )
    )


async def attachment_by_cid(
    session: AsyncSession, message_id: uuid.UUID, content_id: str
) -> Attachment | None:
    return await session.scalar(
        select(Attachment)
        .where(
            Attachment.message_id == message_id,
            func.lower(Attachment.content_id) == content_id.lower(),
        )
        .order_by(Attachment.created_at)
        .limit(1)
    )


async def get_source(session: AsyncSession, message_id: uuid.UUID) -> MessageSource | None:
    return await session.get(MessageSource, message_id)


async def ai_outputs(session: AsyncSession, message: Message) -> dict[str, dict[str, Any]]:
    """``feature -> output`` for the message; copies of the same mail (same ``dedupe_key``)
    share their results, the message's own win."""
    owner: ColumnElement[bool] = AIResult.message_id == message.id
    if message.dedupe_key:
        copies = select(Message.id).where(
            Message.user_id == message.user_id, Message.dedupe_key == message.dedupe_key
        )
        owner = or_(owner, AIResult.message_id.in_(copies))
    rows = await session.scalars(
        select(AIResult)
        .where(AIResult.user_id == message.user_id, owner)
        .order_by((AIResult.message_id == message.id).desc(), AIResult.updated_at.desc())
    )
    outputs: dict[str, dict[str, Any]] = {}
    for result in rows:
        outputs.setdefault(result.feature, result.output)
    return outputs


async def last_feedback(
    session: AsyncSession, message_id: uuid.UUID, feature: str
) -> AIFeedback | None:
    return await session.scalar(
        select(AIFeedback)
        .where(AIFeedback.message_id == message_id, AIFeedback.feature == feature)
        .order_by(AIFeedback.created_at.desc())
        .limit(1)
    )


async def add_feedback(
    session: AsyncSession,
    message: Message,
    *,
    feature: str,
    old_value: Any,
    new_value: Any,
) -> None:
    session.add(
        AIFeedback(
            user_id=message.user_id,
            message_id=message.id,
            feature=feature,
            old_value=old_value,
            new_value=new_value,
            sender_address=message.sender_address or None,
        )
    )


async def due_snoozed(session: AsyncSession, now: datetime, *, limit: int) -> list[Message]:
    """Snoozed mail whose time has come, locked (others skip it) so two workers wake it once."""
    rows = await session.scalars(
        select(Message)
        .where(Message.snoozed_until.is_not(None), Message.snoozed_until <= now)
        .order_by(Message.snoozed_until)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.all())


async def add_notification(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    type: str,
    title: str,
    body: str,
    message_id: uuid.UUID | None,
) -> Notification:
    notification = Notification(
        id=uuid.uuid4(),
        user_id=user_id,
        type=type,
        title=title[:300],
        body=body,
        message_id=message_id,
        created_at=utcnow(),
    )
    session.add(notification)
    await session.flush()
    return notification


async def folders_by_id(
    session: AsyncSession, folder_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Folder]:
    if not folder_ids:
        return {}
    rows = await session.scalars(select(Folder).where(Folder.id.in_(list(set(folder_ids)))))
    return {f.id: f for f in rows}


async def uid_taken(
    session: AsyncSession, folder_id: uuid.UUID, uidvalidity: int | None, uid: int
) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Message.folder_id == folder_id,
                    Message.uidvalidity == uidvalidity,
                    Message.uid == uid,
                )
            )
        )
    )


async def copy_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` with one ``COPY`` in the session's transaction: the bulk
    writes of ingest, at a fraction of the client time per row of an INSERT executemany.

    Every row has the same keys, column names of ``table``; the columns left out get their
    server defaults (not SQLAlchemy's Python-side ones: pass those values in the rows)."""
    if not rows:
        return
    await session.flush()  # pending ORM rows the copied ones may refer to go first
    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None  # a live connection inside the transaction
    async with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            await copy.write_row([row[column] for column in columns])
