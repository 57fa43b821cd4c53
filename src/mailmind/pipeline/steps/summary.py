"""Step "summary": an extractive ``short`` summary with main points and action items, for mails
whose new text is longer than 1000 characters and that were not imported or backfilled
(PRODUCT_SPEC §2.5; shorter mail is summarised on demand)."""

from __future__ import annotations

import time

from mailmind.ai.local.summarize import MIN_AUTO_CHARS, Style, summarize
from mailmind.pipeline.base import MessageInput, PipelineContext, StepResult, input_hash

MODEL = "mailmind-summary-v1"
PROMPT_VERSION = "summary-extractive-1"
STYLE: Style = "short"
MAX_CHARS = 50_000


def wants_summary(message: MessageInput) -> bool:
    """§2.5's rule for a precomputed summary: stripped body over 1000 chars, not backfill."""
    return not message.backfill and len(message.body_new_text.strip()) > MIN_AUTO_CHARS


class SummaryStep:
    name = "summary"
    feature: str | None = "summary"

    async def run(self, ctx: PipelineContext, batch: list[MessageInput]) -> list[StepResult]:
        results = []
        for message in batch:
            if not wants_summary(message):
                continue
            started = time.perf_counter()
            text = message.body_new_text.strip()[:MAX_CHARS]
            summary = summarize(
                text,
                STYLE,
                message.language,
                subject=message.subject,
                reference=message.date,
            )
            payload = {
                "subject": message.subject,
                "text": text,
                "language": message.language,
                "date": message.date.isoformat() if message.date else None,
                "style": STYLE,
            }
            results.append(
                StepResult(
                    message_id=message.id,
                    feature="summary",
                    output=summary.as_output(),
                    confidence=None,
                    reasons=[],
                    provider="local",
                    model=MODEL,
                    prompt_version=PROMPT_VERSION,
                    input_hash=input_hash(payload),
                    latency_ms=int((time.perf_counter() - started) * 1000),
                    mode="local",
                )
            )
        return results


STEP = SummaryStep()
