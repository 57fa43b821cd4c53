"""Response bodies of ``/api/threads``."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from mailmind.message.schemas import EmailDetail, EmailSummary


class ThreadSummary(BaseModel):
    id: uuid.UUID
    subject: str
    latest: EmailSummary
    message_count: int
    unread_count: int


class ThreadPage(BaseModel):
    items: list[ThreadSummary]
    next_cursor: str | None


class ThreadDetail(BaseModel):
    id: uuid.UUID
    subject: str
    messages: list[EmailDetail]
