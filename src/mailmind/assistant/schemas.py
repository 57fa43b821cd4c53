"""Request and response bodies of ``/api/ai`` and ``/api/emails/{id}/ai-decisions``, and the
structured outputs asked of remote models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from mailmind.kit.schemas import RequestModel

Style = Literal["short", "detailed", "bullets"]
Tone = Literal["formal", "informal", "friendly", "business"]
Mode = Literal["local", "remote"]
MAX_BATCH = 50


class ClassifyRequest(RequestModel):
    email_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BATCH)
    force: bool = False  # recompute even when a classification exists


class ClassifyResult(BaseModel):
    email_id: uuid.UUID
    category: str | None
    confidence: float | None
    reasons: list[Any]
    needs_review: bool = False


class ClassifyResponse(BaseModel):
    results: list[ClassifyResult]


class TagsRequest(RequestModel):
    email_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BATCH)
    apply: bool = False  # also attach the suggested tags (source "ai")


class TagSuggestion(BaseModel):
    path: str
    confidence: float


class TagsResult(BaseModel):
    email_id: uuid.UUID
    tags: list[TagSuggestion]


class TagsResponse(BaseModel):
    results: list[TagsResult]


class SummarizeRequest(RequestModel):
    email_id: uuid.UUID | None = None
    thread_id: uuid.UUID | None = None
    style: Style = "short"

    @model_validator(mode="after")
    def _one_target(self) -> SummarizeRequest:
        if (self.email_id is None) == (self.thread_id is None):
            raise ValueError("give exactly one of email_id and thread_id")
        return self


class ActionItemRead(BaseModel):
    text: str
    due_date: str | None = None
    owner: str | None = None
    done: bool = False


class SummaryResponse(BaseModel):
    summary: str
    main_points: list[str]
    action_items: list[ActionItemRead]
    mode: Mode
    style: Style
    language: str
    # Why a remote answer was wanted but a local one given: local_only, server_local_only,
    # not_configured, quota, timeout, rate_limit, unavailable, api, invalid_output.
    fallback_reason: str | None = None


class SuggestionRead(BaseModel):
    id: str
    text: str
    tone: Tone
    language: str


class SuggestionsResponse(BaseModel):
    suggestions: list[SuggestionRead]
    mode: Mode
    fallback_reason: str | None = None


class DecisionRead(BaseModel):
    id: uuid.UUID
    email_id: uuid.UUID | None
    feature: str
    provider: str
    model: str
    prompt_version: str
    input_hash: str
    output: dict[str, Any]
    confidence: float | None
    reasons: list[Any]
    remote: bool
    latency_ms: int
    sent_payload: dict[str, Any] | None
    created_at: datetime


class DecisionList(BaseModel):
    items: list[DecisionRead]


class FeedbackRead(BaseModel):
    id: uuid.UUID
    feature: str
    email_id: uuid.UUID | None
    old: Any
    new: Any
    sender_address: str | None
    created_at: datetime


class FeedbackPage(BaseModel):
    items: list[FeedbackRead]
    next_cursor: str | None


# --- structured outputs asked of remote models ---------------------------------------------------


class RemoteActionItem(BaseModel):
    text: str = Field(max_length=500)
    due_date: str | None = Field(None, description="YYYY-MM-DD when a deadline is stated")
    owner: str | None = None


class RemoteSummary(BaseModel):
    summary: str = Field(max_length=4000)
    main_points: list[str] = Field(max_length=10)
    action_items: list[RemoteActionItem] = Field(max_length=20)


class RemoteReply(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class RemoteReplies(BaseModel):
    suggestions: list[RemoteReply] = Field(min_length=1, max_length=3)
