"""``/api/emails``: lists, the reader, flags and moves, delete, snooze, tags, bulk actions,
attachments and the raw source. Sending and drafts live in ``mailmind.compose``."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Response, status

from mailmind.deps import CurrentAuth, DbSession, RuntimeDep
from mailmind.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from mailmind.message import service
from mailmind.message.repository import MessageFilter
from mailmind.message.schemas import (
    BulkRequest,
    BulkResult,
    Category,
    EmailDetail,
    EmailPage,
    EmailUpdate,
    FolderRole,
    PriorityBand,
    SendStatus,
    SnoozeRequest,
    Sort,
    TagChange,
    TagList,
)
from mailmind.models import Message

router = APIRouter(prefix="/api/emails", tags=["emails"])


async def owned_message(
    session: DbSession, auth: CurrentAuth, email_id: Annotated[uuid.UUID, Path()]
) -> Message:
    """The caller's live message: RES001 when unknown or another user's, RES002 when deleted."""
    return await service.get_owned(session, auth.user.id, email_id)


OwnedMessage = Annotated[Message, Depends(owned_message)]


async def message_filter(
    auth: CurrentAuth,
    account_id: uuid.UUID | None = None,
    folder_id: uuid.UUID | None = None,
    folder_role: FolderRole | None = None,
    category: Annotated[Category | None, Query()] = None,
    priority: Annotated[PriorityBand | None, Query(description="Priority band")] = None,
    tag: Annotated[
        str | None, Query(max_length=255, description="Tag path, sub-tags match")
    ] = None,
    is_read: bool | None = None,
    is_starred: bool | None = None,
    has_attachments: bool | None = None,
    snoozed: bool | None = None,
    send_status: SendStatus | None = None,
) -> MessageFilter:
    """The list filters of PRODUCT_SPEC §2.4, shared by ``/api/emails`` and ``/api/threads``."""
    return MessageFilter(
        user_id=auth.user.id,
        account_id=account_id,
        folder_id=folder_id,
        folder_role=folder_role,
        category=category,
        priority_band=priority,
        tag=tag,
        is_read=is_read,
        is_starred=is_starred,
        has_attachments=has_attachments,
        snoozed=snoozed,
        send_status=send_status,
    )


Filters = Annotated[MessageFilter, Depends(message_filter)]


@router.get("", response_model=EmailPage)
async def list_emails(
    session: DbSession,
    filters: Filters,
    sort: Sort = "date_desc",
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> EmailPage:
    items, next_cursor = await service.list_emails(
        session, filters, sort=sort, cursor=cursor, limit=limit
    )
    return EmailPage(items=items, next_cursor=next_cursor)


@router.post("/bulk", response_model=BulkResult)
async def bulk(
    body: BulkRequest, session: DbSession, runtime: RuntimeDep, auth: CurrentAuth
) -> BulkResult:
    return await service.bulk(
        session,
        runtime,
        auth.user.id,
        email_ids=body.email_ids,
        action=body.action,
        params=body.params,
    )


@router.get("/{email_id}", response_model=EmailDetail)
async def get_email(message: OwnedMessage, session: DbSession) -> EmailDetail:
    return await service.detail(session, message)


@router.patch("/{email_id}", response_model=EmailDetail)
async def update_email(
    message: OwnedMessage, body: EmailUpdate, session: DbSession, runtime: RuntimeDep
) -> EmailDetail:
    await service.update(
        session,
        runtime,
        message,
        is_read=body.is_read,
        is_starred=body.is_starred,
        folder_id=body.folder_id,
        category=body.category,
        priority=body.priority,
    )
    return await service.detail(session, message)


@router.delete("/{email_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_email(message: OwnedMessage, session: DbSession, runtime: RuntimeDep) -> Response:
    await service.delete(session, runtime, [message])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{email_id}/snooze", response_model=EmailDetail)
async def snooze(
    message: OwnedMessage, body: SnoozeRequest, session: DbSession, runtime: RuntimeDep
) -> EmailDetail:
    await service.snooze(session, runtime, [message], service.check_snooze(body.until))
    return await service.detail(session, message)


@router.delete("/{email_id}/snooze", response_model=EmailDetail)
async def unsnooze(message: OwnedMessage, session: DbSession, runtime: RuntimeDep) -> EmailDetail:
    if message.snoozed_until is not None:
        await service.snooze(session, runtime, [message], None)
    return await service.detail(session, message)


@router.post("/{email_id}/tags", response_model=TagList)
async def change_tags(
    message: OwnedMessage, body: TagChange, session: DbSession, runtime: RuntimeDep
) -> TagList:
    await service.change_tags(session, runtime, [message], add=body.add, remove=body.remove)
    return TagList(tags=await service.tags_of(session, message))


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ -]")


def _file_response(content: bytes, *, media_type: str, filename: str, inline: bool) -> Response:
    fallback = _UNSAFE_FILENAME.sub("_", filename)[:200] or "download"
    disposition = "inline" if inline else "attachment"
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": (
                f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
            ),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
        },
    )


@router.get(
    "/{email_id}/raw",
    response_class=Response,
    responses={200: {"content": {"message/rfc822": {}}}},
)
async def raw(message: OwnedMessage, session: DbSession) -> Response:
    content = await service.get_raw(session, message)
    stamp = message.date.strftime("%Y%m%d-%H%M%S") if isinstance(message.date, datetime) else ""
    return _file_response(
        content,
        media_type="message/rfc822",
        filename=f"message-{stamp or message.id}.eml",
        inline=False,
    )


@router.get("/{email_id}/attachments/{attachment_id}", response_class=Response)
async def download_attachment(
    message: OwnedMessage,
    session: DbSession,
    attachment_id: uuid.UUID,
    download: Annotated[bool, Query(description="Always as a download")] = False,
) -> Response:
    file = await service.get_attachment(session, message, attachment_id, inline=not download)
    return _file_response(
        file.content, media_type=file.content_type, filename=file.filename, inline=file.inline
    )


@router.get("/{email_id}/cid/{content_id:path}", response_class=Response)
async def inline_part(
    message: OwnedMessage, session: DbSession, content_id: Annotated[str, Path(max_length=512)]
) -> Response:
    file = await service.get_cid(session, message, content_id)
    return _file_response(
        file.content, media_type=file.content_type, filename=file.filename, inline=file.inline
    )
