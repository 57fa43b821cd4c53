"""``/api/threads``: the conversation list and one conversation, oldest message first."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from mailmind.deps import CurrentAuth, DbSession
from mailmind.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from mailmind.message.endpoints import Filters
from mailmind.models import Thread
from mailmind.thread import service
from mailmind.thread.schemas import ThreadDetail, ThreadPage, ThreadSummary

router = APIRouter(prefix="/api/threads", tags=["threads"])


async def owned_thread(
    session: DbSession, auth: CurrentAuth, thread_id: Annotated[uuid.UUID, Path()]
) -> Thread:
    return await service.get_owned(session, auth.user.id, thread_id)


OwnedThread = Annotated[Thread, Depends(owned_thread)]


@router.get("", response_model=ThreadPage)
async def list_threads(
    session: DbSession,
    filters: Filters,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> ThreadPage:
    """Conversations with at least one message matching the filters, latest activity first;
    ``latest`` is the newest matching message."""
    items, next_cursor = await service.list_threads(session, filters, cursor=cursor, limit=limit)
    return ThreadPage(
        items=[
            ThreadSummary(
                id=item.thread.id,
                subject=item.thread.subject or item.latest.subject,
                latest=item.latest,
                message_count=item.message_count,
                unread_count=item.unread_count,
            )
            for item in items
        ],
        next_cursor=next_cursor,
    )


@router.get("/{thread_id}", response_model=ThreadDetail)
async def get_thread(thread: OwnedThread, session: DbSession) -> ThreadDetail:
    messages = await service.messages(session, thread)
    return ThreadDetail(
        id=thread.id,
        subject=thread.subject or (messages[0].subject if messages else ""),
        messages=messages,
    )
