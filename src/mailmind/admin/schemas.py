"""Bodies of ``/api/admin``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from mailmind.kit.schemas import RequestModel


class JobRead(BaseModel):
    id: int
    task: str
    queue: str
    attempts: int
    status: str
    args: dict[str, Any]
    last_error: str | None
    failed_at: datetime | None
    scheduled_at: datetime | None


class JobList(BaseModel):
    items: list[JobRead]
    next_cursor: str | None


class JobIds(RequestModel):
    ids: list[int] = Field(min_length=1, max_length=1000)


class RetryResult(BaseModel):
    retried: list[int]
    not_found: list[int]
