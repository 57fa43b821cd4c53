"""Step "suggestions": reply suggestions computed ahead for mail that is high priority (≥70) and
asks a question (PRODUCT_SPEC §2.5); all other mail gets them on demand. Reads the "priority"
result of the stage before."""

from __future__ import annotations

import time
from typing import Any

from mailmind.ai.local.suggest import TONES, MessageFields, Tone, detect_intent, suggest_replies
from mailmind.pipeline.base import (
    MessageInput,
    PipelineContext,
    StepResult,
    UserContext,
    input_hash,
)

MODEL = "mailmind-suggestions-v1"
PROMPT_VERSION = "suggestions-templates-1"
MIN_PRIORITY = 70
DEFAULT_TONE: Tone = "business"
MAX_CHARS = 20_000
# How sure the intent is: a meeting with a proposed time is the clearest case.
_CONFIDENCE = {"meeting": 0.8, "confirmation": 0.75, "question": 0.7, "thanks": 0.7, "info": 0.6}


def wants_suggestions(message: MessageInput, priority: StepResult | None) -> bool:
    """Priority ≥70 with the ``question_asked`` reason, and not imported or backfilled."""
    if message.backfill or priority is None:
        return False
    score = priority.output.get("score")
    asked = any(
        isinstance(r, dict) and r.get("code") == "question_asked"
        for r in priority.output.get("reasons", [])
    )
    return isinstance(score, int) and score >= MIN_PRIORITY and asked


def tone_for(user: UserContext) -> Tone:
    """The tone of precomputed suggestions: ``ai.features.suggestions.tone`` when set."""
    features = user.ai.get("features")
    entry: Any = features.get("suggestions") if isinstance(features, dict) else None
    tone = entry.get("tone") if isinstance(entry, dict) else None
    for known in TONES:
        if tone == known:
            return known
    return DEFAULT_TONE


class SuggestionsStep:
    name = "suggestions"
    feature: str | None = "suggestions"

    async def run(self, ctx: PipelineContext, batch: list[MessageInput]) -> list[StepResult]:
        results = []
        for message in batch:
            if not wants_suggestions(message, ctx.earlier.get((message.id, "priority"))):
                continue
            started = time.perf_counter()
            tone = tone_for(ctx.user(message))
            fields: MessageFields = {
                "subject": message.subject,
                "body": (message.body_new_text.strip() or message.body_text)[:MAX_CHARS],
                "sender_name": message.sender_name,
                "sender_address": message.sender_address,
                "date": message.date,
                "language": message.language,
            }
            suggestions = suggest_replies(fields, tone)
            intent = detect_intent(fields["subject"], fields["body"], message.date)
            payload = {**fields, "date": message.date.isoformat() if message.date else None}
            results.append(
                StepResult(
                    message_id=message.id,
                    feature="suggestions",
                    output={"suggestions": [s.as_dict() for s in suggestions]},
                    confidence=_CONFIDENCE[intent.kind],
                    reasons=[{"intent": intent.kind, "tone": tone}],
                    provider="local",
                    model=MODEL,
                    prompt_version=PROMPT_VERSION,
                    input_hash=input_hash({**payload, "tone": tone}),
                    latency_ms=int((time.perf_counter() - started) * 1000),
                )
            )
        return results


STEP = SuggestionsStep()
