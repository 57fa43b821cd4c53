"""Request and response bodies of ``/api/tags``."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from mailmind.kit.schemas import RequestModel


class TagRead(BaseModel):
    id: uuid.UUID
    path: str
    color: str | None
    source: Literal["user", "ai"]
    email_count: int


class TagCreate(RequestModel):
    path: str = Field(max_length=1024)
    color: str | None = Field(None, max_length=16)


class TagUpdate(RequestModel):
    path: str | None = Field(None, max_length=1024)
    color: str | None = Field(None, max_length=16)
