"""Responses of ``/api/imports``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

ImportStatus = Literal["queued", "running", "completed", "failed"]


class ImportCreated(BaseModel):
    id: uuid.UUID


class ImportRead(BaseModel):
    id: uuid.UUID
    status: ImportStatus
    filename: str
    total: int
    imported: int
    duplicates: int
    failed: int
    error: str | None
    created_at: datetime


class ImportList(BaseModel):
    items: list[ImportRead]
    next_cursor: str | None
