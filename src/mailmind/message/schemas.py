"""Request and response bodies of ``/api/emails`` (reading and organising mail)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from mailmind.kit.schemas import RequestModel

CATEGORIES = ("personal", "work", "promotions", "newsletter", "notification", "spam")
PRIORITY_BANDS = ("high", "medium", "low")
SORTS = ("date_desc", "priority_desc")
BULK_ACTIONS = (
    "mark_read",
    "mark_unread",
    "star",
    "unstar",
    "archive",
    "move",
    "delete",
    "tag",
    "untag",
    "set_category",
    "snooze",
)

Category = Literal["personal", "work", "promotions", "newsletter", "notification", "spam"]
PriorityBand = Literal["high", "medium", "low"]
FolderRole = Literal["inbox", "sent", "drafts", "archive", "trash", "spam", "custom"]
SendStatus = Literal["draft", "scheduled", "queued", "sending", "sent", "failed"]
Sort = Literal["date_desc", "priority_desc"]
BulkAction = Literal[
    "mark_read",
    "mark_unread",
    "star",
    "unstar",
    "archive",
    "move",
    "delete",
    "tag",
    "untag",
    "set_category",
    "snooze",
]


class AddressRead(BaseModel):
    name: str
    address: str


class EmailSummary(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    folder_id: uuid.UUID | None
    thread_id: uuid.UUID | None
    subject: str
    sender: AddressRead
    to: list[AddressRead]
    date: datetime | None
    preview: str
    is_read: bool
    is_starred: bool
    has_attachments: bool
    category: str | None
    needs_review: bool
    priority: int | None
    priority_band: str | None
    tags: list[str]
    snoozed_until: datetime | None
    send_status: str | None
    ai_status: str


class AttachmentRead(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    content_id: str | None
    is_inline: bool
    url: str


class ActionItem(BaseModel):
    text: str
    due_date: str | None = None
    owner: str | None = None
    done: bool = False


class PriorityReason(BaseModel):
    code: str
    text: str
    weight: float | None = None


class EmailDetail(EmailSummary):
    cc: list[AddressRead]
    reply_to: list[AddressRead]
    body_text: str
    body_html: str | None
    has_remote_images: bool
    attachments: list[AttachmentRead]
    summary: str | None
    action_items: list[ActionItem]
    priority_reasons: list[PriorityReason]


class EmailPage(BaseModel):
    items: list[EmailSummary]
    next_cursor: str | None


class EmailUpdate(RequestModel):
    is_read: bool | None = None
    is_starred: bool | None = None
    folder_id: uuid.UUID | None = None
    category: Category | None = None
    priority: int | None = Field(None, ge=0, le=100)


class SnoozeRequest(RequestModel):
    until: datetime


class TagChange(RequestModel):
    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)


class TagList(BaseModel):
    tags: list[str]


class BulkRequest(RequestModel):
    email_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)
    action: BulkAction
    params: dict[str, Any] = Field(default_factory=dict)


class BulkFailure(BaseModel):
    id: uuid.UUID
    code: str


class BulkResult(BaseModel):
    succeeded: list[uuid.UUID]
    failed: list[BulkFailure]
