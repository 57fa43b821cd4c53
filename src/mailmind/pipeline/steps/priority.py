"""Step "priority": the local 0–100 score with its reasons (always local, PRODUCT_SPEC §2.5)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from mailmind.ai.local.priority import match_address, score_priority
from mailmind.pipeline.base import (
    MessageInput,
    PipelineContext,
    StepResult,
    UserContext,
    input_hash,
)

MODEL = "mailmind-priority-v1"
PROMPT_VERSION = "priority-rules-1"
# The local functions read at most this much of a body: the signals sit at the top of a mail.
MAX_CHARS = 20_000
_HEADERS = (
    "list-id",
    "list-unsubscribe",
    "list-post",
    "precedence",
    "auto-submitted",
    "x-autoreply",
    "x-auto-response-suppress",
    "importance",
    "priority",
    "x-priority",
    "feedback-id",
)


def payload(message: MessageInput, user: UserContext) -> dict[str, Any]:
    """Everything the score is computed from, for the decision's input hash."""
    sender = message.sender_address.lower()
    return {
        "subject": message.subject,
        "sender": sender,
        "to": [e.get("address", "").lower() for e in message.to],
        "cc": [e.get("address", "").lower() for e in message.cc],
        "headers": {h: message.header(h) for h in _HEADERS if message.header(h)},
        "text": message.body_new_text[:MAX_CHARS],
        "date": message.date.isoformat() if message.date else None,
        "thread_active": message.thread_id in user.active_threads,
        "own": sorted(a.lower() for a in user.own_addresses),
        "sent_to": user.sent_to.get(sender, 0),
        "answered": sender in {a.lower() for a in user.answered_senders},
        "vip_match": match_address(sender, user.vip),
        "override": user.priority_overrides.get(
            match_address(sender, user.priority_overrides) or ""
        ),
        "language": user.language,
    }


def _trimmed(message: MessageInput) -> MessageInput:
    if len(message.body_new_text) <= MAX_CHARS and len(message.body_text) <= MAX_CHARS:
        return message
    return replace(
        message,
        body_new_text=message.body_new_text[:MAX_CHARS],
        body_text=message.body_text[:MAX_CHARS],
    )


class PriorityStep:
    name = "priority"
    feature: str | None = "priority"

    async def run(self, ctx: PipelineContext, batch: list[MessageInput]) -> list[StepResult]:
        results = []
        for message in batch:
            started = time.perf_counter()
            user = ctx.user(message)
            priority = score_priority(_trimmed(message), user)
            output = priority.as_output()
            results.append(
                StepResult(
                    message_id=message.id,
                    feature="priority",
                    output=output,
                    confidence=None,
                    reasons=output["reasons"],
                    provider="local",
                    model=MODEL,
                    prompt_version=PROMPT_VERSION,
                    input_hash=input_hash(payload(message, user)),
                    latency_ms=int((time.perf_counter() - started) * 1000),
                )
            )
        return results


STEP = PriorityStep()
