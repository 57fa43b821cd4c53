"""Request and response bodies of ``/api/folders``."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from mailmind.kit.schemas import RequestModel


class FolderRead(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    name: str
    path: str
    role: str
    parent_id: uuid.UUID | None
    unread_count: int
    total_count: int


class FolderCreate(RequestModel):
    account_id: uuid.UUID
    name: str = Field(min_length=1, max_length=255)
    parent_id: uuid.UUID | None = None


class FolderUpdate(RequestModel):
    name: str | None = Field(None, min_length=1, max_length=255)
    parent_id: uuid.UUID | None = None
