"""Sending (``POST /api/emails``, reply, forward), scheduling, drafts and attachment uploads."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response, status
from starlette.datastructures import UploadFile

from mailmind.compose import service
from mailmind.compose.schemas import (
    AttachmentRead,
    DraftRead,
    DraftSend,
    DraftWrite,
    EmailCreate,
    ForwardCreate,
    ReplyCreate,
    ScheduleUpdate,
    SendAccepted,
)
from mailmind.deps import CurrentAuth, DbSession, RuntimeDep
from mailmind.errors import MailError, ValidationFailed

router = APIRouter(prefix="/api", tags=["compose"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Repeating a request with the same key sends once and answers the same",
    ),
]


def _fingerprint(route: str, target: uuid.UUID | None, body: Any) -> dict[str, Any]:
    return {
        "route": route,
        "target": str(target) if target else None,
        "body": body.model_dump(mode="json") if body is not None else None,
    }


@router.post("/emails", status_code=status.HTTP_202_ACCEPTED, response_model=SendAccepted)
async def send_email(
    body: EmailCreate,
    session: DbSession,
    runtime: RuntimeDep,
    auth: CurrentAuth,
    idempotency_key: IdempotencyKey = None,
) -> SendAccepted:
    """Queue a new message (sent within seconds, or at ``send_at``)."""
    return await service.idempotent(
        session,
        auth.user,
        idempotency_key,
        _fingerprint("send", None, body),
        lambda: service.send_new(session, runtime, auth.user, body),
    )


@router.post(
    "/emails/{email_id}/reply", status_code=status.HTTP_202_ACCEPTED, response_model=SendAccepted
)
async def reply(
    email_id: uuid.UUID,
    body: ReplyCreate,
    session: DbSession,
    runtime: RuntimeDep,
    auth: CurrentAuth,
    idempotency_key: IdempotencyKey = None,
) -> SendAccepted:
    return await service.idempotent(
        session,
        auth.user,
        idempotency_key,
        _fingerprint("reply", email_id, body),
        lambda: service.reply(session, runtime, auth.user, email_id, body),
    )


@router.post(
    "/emails/{email_id}/forward", status_code=status.HTTP_202_ACCEPTED, response_model=SendAccepted
)
async def forward(
    email_id: uuid.UUID,
    body: ForwardCreate,
    session: DbSession,
    runtime: RuntimeDep,
    auth: CurrentAuth,
    idempotency_key: IdempotencyKey = None,
) -> SendAccepted:
    return await service.idempotent(
        session,
        auth.user,
        idempotency_key,
        _fingerprint("forward", email_id, body),
        lambda: service.forward(session, runtime, auth.user, email_id, body),
    )


@router.patch("/emails/{email_id}/schedule", response_model=SendAccepted)
async def reschedule(
    email_id: uuid.UUID,
    body: ScheduleUpdate,
    session: DbSession,
    runtime: RuntimeDep,
    auth: CurrentAuth,
) -> SendAccepted:
    """Schedule a draft, or move a scheduled message to another time."""
    return await service.reschedule(session, runtime, auth.user, email_id, body.send_at)


@router.delete("/emails/{email_id}/schedule", response_model=SendAccepted)
async def cancel_schedule(
    email_id: uuid.UUID, session: DbSession, runtime: RuntimeDep, auth: CurrentAuth
) -> SendAccepted:
    """Cancel a scheduled send: the message becomes a draft again."""
    return await service.cancel_schedule(session, runtime, auth.user, email_id)


# --- drafts ---------------------------------------------------------------------------------


@router.get("/drafts", response_model=list[DraftRead])
async def list_drafts(session: DbSession, auth: CurrentAuth) -> list[DraftRead]:
    """Drafts, scheduled and failed messages, most recently changed first."""
    return await service.list_drafts(session, auth.user)


@router.post("/drafts", status_code=status.HTTP_201_CREATED, response_model=DraftRead)
async def create_draft(body: DraftWrite, session: DbSession, auth: CurrentAuth) -> DraftRead:
    draft = await service.create_draft(session, auth.user, body)
    return await service.draft_read(session, draft)


@router.get("/drafts/{draft_id}", response_model=DraftRead)
async def get_draft(draft_id: uuid.UUID, session: DbSession, auth: CurrentAuth) -> DraftRead:
    draft = await service.get_outgoing(session, auth.user, draft_id)
    return await service.draft_read(session, draft)


@router.put("/drafts/{draft_id}", response_model=DraftRead)
async def update_draft(
    draft_id: uuid.UUID, body: DraftWrite, session: DbSession, auth: CurrentAuth
) -> DraftRead:
    draft = await service.update_draft(session, auth.user, draft_id, body)
    return await service.draft_read(session, draft)


@router.delete("/drafts/{draft_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_draft(draft_id: uuid.UUID, session: DbSession, auth: CurrentAuth) -> Response:
    await service.delete_draft(session, auth.user, draft_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/drafts/{draft_id}/send", status_code=status.HTTP_202_ACCEPTED, response_model=SendAccepted
)
async def send_draft(
    draft_id: uuid.UUID,
    session: DbSession,
    runtime: RuntimeDep,
    auth: CurrentAuth,
    idempotency_key: IdempotencyKey = None,
    body: DraftSend | None = None,
) -> SendAccepted:
    """Send a draft now (or at ``send_at``); also sends a failed message again."""
    send_at = body.send_at if body else None
    return await service.idempotent(
        session,
        auth.user,
        idempotency_key,
        _fingerprint("draft-send", draft_id, body),
        lambda: service.send_draft(session, runtime, auth.user, draft_id, send_at),
    )


# --- uploads --------------------------------------------------------------------------------

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentRead,
    openapi_extra=_UPLOAD_BODY,
)
async def upload_attachment(
    request: Request, session: DbSession, auth: CurrentAuth
) -> AttachmentRead:
    """Upload one file (multipart field ``file``, ≤10 MB) to attach to a message; files no
    message uses are deleted after 24 hours."""
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.isdigit()
        and int(declared) > service.MAX_UPLOAD_REQUEST_BYTES
    ):
        # Refused before the body is read: no file this large can be attached.
        raise ValidationFailed("VAL006", "The upload is too large")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ValidationFailed("VAL002", "Send the file as multipart/form-data")
    async with request.form(max_files=1, max_fields=5) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise ValidationFailed(
                "VAL001", "The multipart field 'file' is missing", details={"field": "file"}
            )
        data = await file.read(service.MAX_FILE_BYTES + 1)
        if len(data) > service.MAX_FILE_BYTES:
            raise MailError(
                "EMAIL005",
                "A file may not exceed 10 MB",
                details={"max": service.MAX_FILE_BYTES},
            )
        attachment = await service.upload_attachment(
            session,
            auth.user,
            filename=file.filename or "attachment",
            content_type=file.content_type or "application/octet-stream",
            data=data,
        )
    return AttachmentRead(
        id=attachment.id,
        filename=attachment.filename,
        size=attachment.size,
        content_type=attachment.content_type,
    )
