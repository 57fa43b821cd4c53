"""Request and response bodies of sending, drafts, scheduling and attachment uploads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from mailmind.kit.schemas import RequestModel

# Generous per-field caps; the real rule (1–100 recipients in all, each valid) is checked by the
# service so that it can answer EMAIL003 with the invalid addresses.
Recipients = Annotated[list[Annotated[str, Field(max_length=1000)]], Field(max_length=500)]
_BODY_MAX = 2_000_000


class EmailCreate(RequestModel):
    """``POST /emails``: a new message, sent now or at ``send_at``."""

    account_id: uuid.UUID
    to: Recipients = Field(default_factory=list)
    cc: Recipients = Field(default_factory=list)
    bcc: Recipients = Field(default_factory=list)
    subject: str = Field("", max_length=998)
    body_text: str = Field("", max_length=_BODY_MAX)
    body_html: str | None = Field(None, max_length=_BODY_MAX)
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    send_at: datetime | None = None


class ReplyCreate(RequestModel):
    """``POST /emails/{id}/reply``: recipients come from the original (Reply-To, else From; with
    ``reply_all`` also its To and Cc, without the user's own addresses); ``cc``/``bcc`` add more."""

    reply_all: bool = False
    body_text: str = Field("", max_length=_BODY_MAX)
    body_html: str | None = Field(None, max_length=_BODY_MAX)
    cc: Recipients = Field(default_factory=list)
    bcc: Recipients = Field(default_factory=list)
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    send_at: datetime | None = None
    account_id: uuid.UUID | None = Field(
        None, description="Send from another account than the original's"
    )


class ForwardCreate(RequestModel):
    """``POST /emails/{id}/forward``: the original follows the text; its attachments too unless
    ``include_attachments`` is false."""

    to: Recipients = Field(default_factory=list)
    cc: Recipients = Field(default_factory=list)
    bcc: Recipients = Field(default_factory=list)
    body_text: str = Field("", max_length=_BODY_MAX)
    body_html: str | None = Field(None, max_length=_BODY_MAX)
    include_attachments: bool = True
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    send_at: datetime | None = None
    account_id: uuid.UUID | None = None


class DraftWrite(RequestModel):
    """``POST /drafts`` and ``PUT /drafts/{id}``: the fields of ``POST /emails`` (recipients are
    checked when the draft is sent) and the message it answers."""

    account_id: uuid.UUID
    to: Recipients = Field(default_factory=list)
    cc: Recipients = Field(default_factory=list)
    bcc: Recipients = Field(default_factory=list)
    subject: str = Field("", max_length=998)
    body_text: str = Field("", max_length=_BODY_MAX)
    body_html: str | None = Field(None, max_length=_BODY_MAX)
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    in_reply_to_id: uuid.UUID | None = None


class DraftSend(RequestModel):
    """``POST /drafts/{id}/send``: now, or at ``send_at``."""

    send_at: datetime | None = None


class ScheduleUpdate(RequestModel):
    send_at: datetime


class SendAccepted(BaseModel):
    email_id: uuid.UUID
    send_status: str


class AddressRead(BaseModel):
    name: str
    address: str


class AttachmentRead(BaseModel):
    id: uuid.UUID
    filename: str
    size: int
    content_type: str


class DraftRead(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    folder_id: uuid.UUID | None
    to: list[AddressRead]
    cc: list[AddressRead]
    bcc: list[AddressRead]
    subject: str
    body_text: str
    body_html: str | None
    attachments: list[AttachmentRead]
    in_reply_to_id: uuid.UUID | None
    send_status: str | None
    send_at: datetime | None
    send_error: str | None
    updated_at: datetime
