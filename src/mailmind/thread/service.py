"""Conversations: the thread list (same filters as the mail list) and one thread's messages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.errors import not_found
from mailmind.kit.pagination import encode_cursor
from mailmind.message import service as message_service
from mailmind.message.repository import THREAD_KEYS, MessageFilter
from mailmind.message.schemas import EmailDetail, EmailSummary
from mailmind.models import Thread
from mailmind.thread import repository as repo


@dataclass(frozen=True)
class ThreadItem:
    thread: Thread
    latest: EmailSummary
    message_count: int
    unread_count: int


async def list_threads(
    session: AsyncSession, f: MessageFilter, *, cursor: str | None, limit: int
) -> tuple[list[ThreadItem], str | None]:
    await message_service.check_scope(session, f)
    after = message_service.decode_cursor_values(THREAD_KEYS, cursor)
    threads = await repo.list_threads(session, f, after=after, limit=limit + 1)
    more = len(threads) > limit
    threads = threads[:limit]
    ids = [t.id for t in threads]
    latest = await repo.latest_in_threads(session, f, ids)
    counts = await repo.thread_counts(session, ids)
    shown = [t for t in threads if t.id in latest]
    latest_summaries = dict(
        zip(
            [t.id for t in shown],
            await message_service.summaries(session, [latest[t.id] for t in shown]),
            strict=True,
        )
    )
    items = [ThreadItem(t, latest_summaries[t.id], *counts.get(t.id, (0, 0))) for t in shown]
    next_cursor = (
        encode_cursor(*message_service.cursor_values(THREAD_KEYS, threads[-1]))
        if more and threads
        else None
    )
    return items, next_cursor


async def get_owned(session: AsyncSession, user_id: uuid.UUID, thread_id: uuid.UUID) -> Thread:
    """The caller's thread, else RES001 (another user's looks exactly like a missing one)."""
    thread = await repo.get_thread(session, thread_id)
    if thread is None or thread.user_id != user_id:
        raise not_found("thread")
    return thread


async def messages(session: AsyncSession, thread: Thread) -> list[EmailDetail]:
    """The thread's live messages, oldest first."""
    rows = await repo.thread_messages(session, thread.id)
    return [await message_service.detail(session, m) for m in rows]
