"""What pipeline steps receive and return.

A step takes a batch of :class:`MessageInput` (only the messages that need its feature) and the
:class:`PipelineContext` (one :class:`UserContext` per owner, earlier stages' results) and
returns one :class:`StepResult` per output. Steps compute; they never write: the runner stores
every result of a batch, with its decision log row, in one transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import orjson

if TYPE_CHECKING:
    from mailmind.runtime import Runtime

FEATURES = ("classify", "priority", "tags", "summary", "suggestions")
CONFIDENCE_REVIEW_THRESHOLD = 0.7


@dataclass
class MessageInput:
    """One message of a batch, as the steps see it."""

    id: uuid.UUID
    user_id: uuid.UUID
    account_id: uuid.UUID
    thread_id: uuid.UUID | None
    folder_role: str | None
    subject: str
    sender_name: str
    sender_address: str
    to: list[dict[str, str]]
    cc: list[dict[str, str]]
    headers: dict[str, str]
    body_text: str
    body_new_text: str
    date: datetime | None
    language: str  # PostgreSQL text search configuration ("english", "german", "simple")
    has_attachments: bool
    backfill: bool  # imported or backfilled: no summary, no suggestions
    embedding: np.ndarray | None = None  # mean of the chunk vectors, set by "embed"

    def header(self, name: str) -> str:
        """A header's value by case-insensitive name, "" when absent."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value if isinstance(value, str) else " ".join(map(str, value))
        return ""


@dataclass
class StepResult:
    """One AI output: one AIResult upsert and one AIDecision row."""

    message_id: uuid.UUID
    feature: str
    output: dict[str, Any]
    confidence: float | None
    reasons: list[Any]
    provider: str
    model: str
    prompt_version: str
    input_hash: str
    remote: bool = False
    latency_ms: int = 0
    sent_payload: dict[str, Any] | None = None
    mode: str = "local"  # "local" | "remote"


@dataclass
class UserContext:
    """What the steps know about the owner of a message; loaded once per user per batch."""

    user_id: uuid.UUID
    own_addresses: set[str] = field(default_factory=set)
    sent_to: dict[str, int] = field(default_factory=dict)  # address -> mails sent to it
    answered_senders: set[str] = field(default_factory=set)
    vip: set[str] = field(default_factory=set)  # addresses or "@domain"
    existing_tags: list[str] = field(default_factory=list)
    active_threads: set[uuid.UUID] = field(default_factory=set)  # user wrote there ≤14 days
    priority_overrides: dict[str, int] = field(default_factory=dict)  # sender -> priority
    language: str = "en"  # UI language: "en" | "de"
    ai: dict[str, Any] = field(default_factory=dict)  # settings.ai

    def feature_enabled(self, feature: str) -> bool:
        """The user's switches: ``ai.enabled`` and ``ai.features.<feature>.enabled``."""
        if self.ai.get("enabled", True) is False:
            return False
        features = self.ai.get("features") or {}
        entry = features.get(feature) if isinstance(features, dict) else None
        return not (isinstance(entry, dict) and entry.get("enabled", True) is False)


@dataclass
class Chunk:
    """A stored passage of a message with its vector (written by the runner)."""

    message_id: uuid.UUID
    user_id: uuid.UUID
    index: int
    text: str
    embedding: np.ndarray
    model: str


@dataclass
class PipelineContext:
    runtime: Runtime
    users: dict[uuid.UUID, UserContext]
    earlier: dict[tuple[uuid.UUID, str], StepResult] = field(default_factory=dict)
    chunks: dict[uuid.UUID, list[Chunk]] = field(default_factory=dict)  # set by "embed"

    def user(self, message: MessageInput) -> UserContext:
        return self.users[message.user_id]


class Step(Protocol):
    """A named pipeline step; the module ``mailmind.pipeline.steps.<name>`` exposes it as
    ``STEP``."""

    name: str  # "embed", "classify", "priority", "tags", "summary", "suggestions"
    feature: str | None  # the AI feature it produces (None for "embed")

    async def run(self, ctx: PipelineContext, batch: list[MessageInput]) -> list[StepResult]: ...


def input_hash(payload: Any) -> str:
    """SHA-256 of the exact input a decision was made from (canonical JSON, sorted keys)."""
    data = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(data).hexdigest()
