"""Queries on threads (conversations) for the threads API."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.message.repository import (
    SUMMARY_LOAD,
    THREAD_KEYS,
    MessageFilter,
    after_cursor,
    filter_conditions,
    order_by,
)
from mailmind.models import Message, Thread


async def list_threads(
    session: AsyncSession, f: MessageFilter, *, after: Sequence[Any] | None, limit: int
) -> list[Thread]:
    """Threads with at least one message matching ``f``, newest activity first."""
    matching = select(Message.id).where(Message.thread_id == Thread.id, *filter_conditions(f))
    query = select(Thread).where(Thread.user_id == f.user_id, exists(matching))
    if f.account_id is not None:
        query = query.where(Thread.account_id == f.account_id)
    if after is not None:
        query = query.where(after_cursor(THREAD_KEYS, after))
    query = query.order_by(*order_by(THREAD_KEYS)).limit(limit)
    return list((await session.scalars(query)).all())


async def latest_in_threads(
    session: AsyncSession, f: MessageFilter, thread_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Message]:
    """The newest message matching ``f`` in each thread."""
    if not thread_ids:
        return {}
    rows = await session.scalars(
        select(Message)
        .options(SUMMARY_LOAD)
        .ext(distinct_on(Message.thread_id))
        .where(Message.thread_id.in_(list(thread_ids)), *filter_conditions(f))
        .order_by(Message.thread_id, Message.date.desc().nulls_last(), Message.id.desc())
    )
    return {m.thread_id: m for m in rows if m.thread_id is not None}


async def thread_counts(
    session: AsyncSession, thread_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """``thread id -> (messages, unread)`` over live mail."""
    if not thread_ids:
        return {}
    rows = await session.execute(
        select(Message.thread_id, func.count(), func.count().filter(Message.is_read.is_(False)))
        .where(Message.thread_id.in_(list(thread_ids)), Message.deleted_at.is_(None))
        .group_by(Message.thread_id)
    )
    return {tid: (int(n), int(unread)) for tid, n, unread in rows if tid is not None}


async def get_thread(session: AsyncSession, thread_id: uuid.UUID) -> Thread | None:
    return await session.get(Thread, thread_id)


async def thread_messages(session: AsyncSession, thread_id: uuid.UUID) -> list[Message]:
    rows = await session.scalars(
        select(Message)
        .where(Message.thread_id == thread_id, Message.deleted_at.is_(None))
        .order_by(Message.date.asc().nulls_first(), Message.id)
    )
    return list(rows.all())
