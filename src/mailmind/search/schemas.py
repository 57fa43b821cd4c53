"""Bodies of ``/api/search``, ``/api/ai/ask`` and ``/api/emails/{id}/related``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mailmind.kit.schemas import RequestModel
from mailmind.message.schemas import AddressRead, Category, EmailSummary

SearchMode = Literal["hybrid", "keyword", "semantic"]
Matched = Literal["keyword", "semantic", "both"]


class Highlights(BaseModel):
    """Escaped HTML; the query's words in ``<mark>``. ``body`` is at most 200 characters."""

    subject: str
    body: str


class SearchHit(BaseModel):
    email: EmailSummary
    score: float
    matched: Matched
    highlights: Highlights


class SearchPage(BaseModel):
    items: list[SearchHit]
    next_cursor: str | None
    mode_used: SearchMode


class AskFilters(RequestModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    account_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    folder_id: uuid.UUID | None = None
    sender: str | None = Field(None, alias="from", max_length=320)
    date_from: str | None = Field(None, max_length=40)
    date_to: str | None = Field(None, max_length=40)
    category: Category | None = None
    tags: list[str] = Field(default_factory=list, max_length=20)


class AskRequest(RequestModel):
    question: str = Field(min_length=1, max_length=1000)
    filters: AskFilters = Field(default_factory=AskFilters)


class Citation(BaseModel):
    email_id: uuid.UUID
    subject: str
    sender: AddressRead
    date: datetime | None
    snippet: str


class AskAnswer(BaseModel):
    """``answer`` refers to ``citations[n-1]`` as ``[n]``; ``mode`` is ``extractive`` (passages
    of the mail itself) or ``generative`` (written by the configured LLM from those passages)."""

    answer: str
    citations: list[Citation]
    mode: Literal["extractive", "generative"]


class RelatedEmail(BaseModel):
    email: EmailSummary
    score: float


class RelatedPage(BaseModel):
    items: list[RelatedEmail]
