"""Running the pipeline for one batch and storing everything it produced in one transaction.

A batch is read, computed without holding a database connection, then written: chunks, one
AIDecision per output, the AIResult of each (message, feature) replaced, the message's AI
columns, AI tags, ``ai_status``. Only then are ``email_processed`` (and ``ai_suggestion``)
published. A worker that dies before the commit leaves no trace but ``ai_status``
"processing", and the job runs again; one that dies after it has finished the batch.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.errors import MailMindError
from mailmind.metrics import PIPELINE_ERRORS, PIPELINE_LATENCY
from mailmind.models import (
    AIDecision,
    AIFeedback,
    AIResult,
    Message,
    MessageChunk,
    MessageTag,
)
from mailmind.pipeline.base import (
    CONFIDENCE_REVIEW_THRESHOLD,
    Chunk,
    MessageInput,
    PipelineContext,
    Step,
    StepResult,
)
from mailmind.pipeline.context import LoadedMessage, load_messages, load_user_contexts
from mailmind.pipeline.pipelines import STAGES, load_step, planned_features

if TYPE_CHECKING:
    from mailmind.runtime import Runtime

log = structlog.get_logger(__name__)

SUGGESTION_PRIORITY = 70
# Steps that give every message a result; summaries and suggestions are made only for some.
ALWAYS_PRODUCED = frozenset(
    {"classify", "priority", "tags"}
)  # PRODUCT_SPEC §2.5: suggestions are pushed for high priority only


@dataclass
class BatchOutcome:
    """What a run stored (for tests and logs)."""

    processed: list[uuid.UUID] = field(default_factory=list)
    skipped: list[uuid.UUID] = field(default_factory=list)
    copied: list[uuid.UUID] = field(default_factory=list)
    results: list[StepResult] = field(default_factory=list)


@dataclass
class _Copy:
    """Results of a message with the same dedupe key, taken over instead of recomputed."""

    source: uuid.UUID
    results: list[StepResult]
    chunks: list[Chunk]
    tags: list[tuple[uuid.UUID, float | None]]


async def process_batch(
    runtime: Runtime,
    *,
    account_id: uuid.UUID,
    message_ids: Sequence[uuid.UUID],
    backfill: bool = False,
) -> BatchOutcome:
    """Run every planned step for the messages of ``account_id`` among ``message_ids`` and store
    the results; raises when a step fails (the job is retried, nothing half-written)."""
    started = time.perf_counter()
    outcome = BatchOutcome()
    async with runtime.db.session() as session:
        loaded = [
            m
            for m in await load_messages(session, message_ids, backfill=backfill)
            if m.input.account_id == account_id
        ]
        if not loaded:
            return outcome
        users = await load_user_contexts(session, runtime, [m.input for m in loaded])
        plans = {
            m.input.id: planned_features(
                m.input, users[m.input.user_id], account_enabled=m.ai_enabled
            )
            for m in loaded
        }
        copies = await _find_copies(session, loaded, plans)
        await session.execute(
            update(Message)
            .where(Message.id.in_([m.input.id for m in loaded if plans[m.input.id]]))
            .values(ai_status="processing")
        )

    ctx = PipelineContext(runtime=runtime, users=users)
    compute = [m.input for m in loaded if plans[m.input.id] and m.input.id not in copies]
    # feature -> messages its step ran for (a step may rightly produce nothing for some, e.g.
    # no summary for a short mail); a feature whose step is not installed stays missing.
    ran: dict[str, set[uuid.UUID]] = {}
    for stage in STAGES:
        await _run_stage(ctx, stage, compute, plans, ran)

    store_started = time.perf_counter()
    async with runtime.db.session() as session:
        await _store(session, runtime, loaded, plans, ctx, copies, ran, outcome)
    PIPELINE_LATENCY.labels(stage="store").observe(time.perf_counter() - store_started)
    PIPELINE_LATENCY.labels(stage="total").observe(time.perf_counter() - started)
    log.info(
        "pipeline_batch_done",
        account_id=str(account_id),
        messages=len(loaded),
        copied=len(outcome.copied),
        skipped=len(outcome.skipped),
        seconds=round(time.perf_counter() - started, 3),
    )
    return outcome


async def _run_stage(
    ctx: PipelineContext,
    stage: tuple[str, ...],
    messages: list[MessageInput],
    plans: dict[uuid.UUID, set[str]],
    ran: dict[str, set[uuid.UUID]],
) -> None:
    runs: list[tuple[Step, list[MessageInput]]] = []
    for name in stage:
        step = load_step(name)
        if step is None:
            continue
        if step.feature is None:
            batch = messages  # "embed": every message that gets any feature
        else:
            batch = [m for m in messages if step.feature in plans[m.id]]
        if batch:
            runs.append((step, batch))
            if step.feature is not None:
                ran.setdefault(step.feature, set()).update(m.id for m in batch)
    if not runs:
        return
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_run_step(ctx, step, batch)) for step, batch in runs]
    except ExceptionGroup as group_error:
        # The first failing step cancels its siblings; the job records that step's error.
        raise group_error.exceptions[0] from group_error
    for done in tasks:
        for result in done.result():
            ctx.earlier[(result.message_id, result.feature)] = result


async def _run_step(
    ctx: PipelineContext, step: Step, batch: list[MessageInput]
) -> list[StepResult]:
    started = time.perf_counter()
    try:
        results = await step.run(ctx, batch)
    except Exception:
        PIPELINE_ERRORS.labels(stage=step.name).inc()
        log.exception("pipeline_step_failed", step=step.name, messages=len(batch))
        raise
    PIPELINE_LATENCY.labels(stage=step.name).observe(time.perf_counter() - started)
    wanted = {m.id for m in batch}
    for result in results:
        if result.message_id not in wanted or result.feature != step.feature:
            raise RuntimeError(
                f"step {step.name} returned {result.feature} for a message it was not given"
            )
    return results


# --------------------------------------------------------------------------------------------
# The same message in two folders (one dedupe key) is processed once.


async def _find_copies(
    session: AsyncSession, loaded: list[LoadedMessage], plans: dict[uuid.UUID, set[str]]
) -> dict[uuid.UUID, _Copy]:
    keyed = {
        m.input.id: (m.input.user_id, m.dedupe_key)
        for m in loaded
        if m.dedupe_key and plans[m.input.id]
    }
    if not keyed:
        return {}
    batch_ids = list(keyed)
    rows = await session.execute(
        select(Message.id, Message.user_id, Message.dedupe_key)
        .where(
            Message.dedupe_key.in_({key for _, key in keyed.values()}),
            Message.user_id.in_({user for user, _ in keyed.values()}),
            Message.id.not_in(batch_ids),
            Message.ai_status.in_(("done", "partial")),
        )
        .order_by(Message.created_at)
    )
    sources: dict[tuple[uuid.UUID, str | None], uuid.UUID] = {}
    for source_id, user_id, key in rows:
        sources.setdefault((user_id, key), source_id)
    if not sources:
        return {}
    source_ids = list(set(sources.values()))
    decisions = await session.execute(
        select(AIResult, AIDecision)
        .outerjoin(AIDecision, AIDecision.id == AIResult.decision_id)
        .where(AIResult.message_id.in_(source_ids))
    )
    results: dict[uuid.UUID, list[StepResult]] = {}
    for result, decision in decisions:
        results.setdefault(result.message_id, []).append(
            StepResult(
                message_id=result.message_id,
                feature=result.feature,
                output=dict(result.output),
                confidence=result.confidence,
                reasons=list(decision.reasons) if decision else [],
                provider=result.provider,
                model=result.model,
                prompt_version=decision.prompt_version if decision else "",
                input_hash=decision.input_hash if decision else "",
                remote=decision.remote if decision else False,
                mode=result.mode,
            )
        )
    chunk_rows = await session.scalars(
        select(MessageChunk)
        .where(MessageChunk.message_id.in_(source_ids))
        .order_by(MessageChunk.message_id, MessageChunk.chunk_index)
    )
    chunks: dict[uuid.UUID, list[MessageChunk]] = {}
    for chunk in chunk_rows:
        chunks.setdefault(chunk.message_id, []).append(chunk)
    tag_rows = await session.execute(
        select(MessageTag.message_id, MessageTag.tag_id, MessageTag.confidence).where(
            MessageTag.message_id.in_(source_ids), MessageTag.source == "ai"
        )
    )
    tags: dict[uuid.UUID, list[tuple[uuid.UUID, float | None]]] = {}
    for mid, tag_id, confidence in tag_rows:
        tags.setdefault(mid, []).append((tag_id, confidence))

    copies: dict[uuid.UUID, _Copy] = {}
    for message_id, (user_id, key) in keyed.items():
        source = sources.get((user_id, key))
        if source is None:
            continue
        have = {r.feature: r for r in results.get(source, [])}
        plan = plans[message_id]
        if not plan & ALWAYS_PRODUCED <= set(have):
            continue  # the other copy was processed with less (e.g. in Spam): compute
        copies[message_id] = _Copy(
            source=source,
            results=[
                StepResult(**{**vars(have[f]), "message_id": message_id, "latency_ms": 0})
                for f in sorted(plan & set(have))
            ],
            chunks=[
                Chunk(
                    message_id=message_id,
                    user_id=user_id,
                    index=c.chunk_index,
                    text=c.text,
                    embedding=c.embedding,
                    model=c.model,
                )
                for c in chunks.get(source, [])
            ],
            tags=tags.get(source, []) if "tags" in plan else [],
        )
    return copies


# --------------------------------------------------------------------------------------------
# Storing a batch.


async def _store(
    session: AsyncSession,
    runtime: Runtime,
    loaded: list[LoadedMessage],
    plans: dict[uuid.UUID, set[str]],
    ctx: PipelineContext,
    copies: dict[uuid.UUID, _Copy],
    ran: dict[str, set[uuid.UUID]],
    outcome: BatchOutcome,
) -> None:
    # Lock the rows: a concurrent delete or a user's correction waits for this batch.
    present = set(
        await session.scalars(
            select(Message.id)
            .where(
                Message.id.in_([m.input.id for m in loaded]),
                Message.deleted_at.is_(None),
            )
            .with_for_update()
        )
    )
    messages = [m for m in loaded if m.input.id in present]
    ids = [m.input.id for m in messages]

    results: list[StepResult] = [r for r in ctx.earlier.values() if r.message_id in present]
    chunks: list[Chunk] = [c for mid, cs in ctx.chunks.items() if mid in present for c in cs]
    for message_id, copy in copies.items():
        if message_id in present:
            results.extend(copy.results)
            chunks.extend(copy.chunks)
            outcome.copied.append(message_id)

    # Chunks: the new set replaces the old one of every message that got one.
    chunked = sorted({c.message_id for c in chunks}, key=str)
    if chunked:
        await session.execute(delete(MessageChunk).where(MessageChunk.message_id.in_(chunked)))
        await session.execute(
            insert(MessageChunk),
            [
                {
                    "message_id": c.message_id,
                    "user_id": c.user_id,
                    "chunk_index": c.index,
                    "text": c.text,
                    "embedding": c.embedding,
                    "model": c.model,
                }
                for c in chunks
            ],
        )

    owners = {m.input.id: m.input.user_id for m in messages}
    if results:
        decision_rows = []
        result_rows = []
        for r in results:
            decision_id = uuid.uuid4()
            decision_rows.append(
                {
                    "id": decision_id,
                    "user_id": owners[r.message_id],
                    "message_id": r.message_id,
                    "feature": r.feature,
                    "provider": r.provider,
                    "model": r.model,
                    "prompt_version": r.prompt_version,
                    "input_hash": r.input_hash,
                    "output": r.output,
                    "confidence": r.confidence,
                    "reasons": r.reasons,
                    "remote": r.remote,
                    "latency_ms": r.latency_ms,
                    "sent_payload": r.sent_payload,
                }
            )
            result_rows.append(
                {
                    "message_id": r.message_id,
                    "user_id": owners[r.message_id],
                    "feature": r.feature,
                    "output": r.output,
                    "confidence": r.confidence,
                    "provider": r.provider,
                    "model": r.model,
                    "mode": r.mode,
                    "decision_id": decision_id,
                }
            )
        await session.execute(insert(AIDecision), decision_rows)
        upsert = insert(AIResult).values(result_rows)
        await session.execute(
            upsert.on_conflict_do_update(
                constraint="uq_ai_results_feature",
                set_={
                    "output": upsert.excluded.output,
                    "confidence": upsert.excluded.confidence,
                    "provider": upsert.excluded.provider,
                    "model": upsert.excluded.model,
                    "mode": upsert.excluded.mode,
                    "decision_id": upsert.excluded.decision_id,
                    "updated_at": func.now(),
                },
            )
        )
    outcome.results = results

    by_message: dict[uuid.UUID, dict[str, StepResult]] = {}
    for r in results:
        by_message.setdefault(r.message_id, {})[r.feature] = r
    corrected = await _corrected(session, ids)
    await _store_tags(session, messages, by_message, copies, corrected)

    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for m in messages:
        mid = m.input.id
        plan = plans[mid]
        got = by_message.get(mid, {})
        values: dict[str, Any] = {}
        if not plan:
            values["ai_status"] = "skipped"
            outcome.skipped.append(mid)
        else:
            covered = set(plan) if mid in copies else {f for f in plan if mid in ran.get(f, set())}
            values["ai_status"] = "done" if plan <= covered else "partial"
            outcome.processed.append(mid)
        classify = got.get("classify")
        if classify is not None and (mid, "classify") not in corrected:
            confidence = classify.confidence
            values["category"] = classify.output.get("category")
            values["category_confidence"] = confidence
            values["needs_review"] = confidence is None or confidence < CONFIDENCE_REVIEW_THRESHOLD
        priority = got.get("priority")
        if priority is not None and (mid, "priority") not in corrected:
            values["priority"] = priority.output.get("score")
            values["priority_band"] = priority.output.get("band")
        updates.setdefault(tuple(sorted(values)), []).append({"id": mid, **values})
    # One executemany per set of columns (a corrected category or priority is left out).
    for rows in updates.values():
        await session.execute(update(Message), rows)
    await session.flush()

    from mailmind.realtime.publish import publish_after_commit
    from mailmind.search.cache import bump_after_commit

    # New categories, priorities, tags and vectors change search results: drop cached ones.
    for user_id in {m.input.user_id for m in messages}:
        bump_after_commit(session, runtime.store, user_id)
    from mailmind.tag.repository import paths_of

    tag_paths = await paths_of(session, ids)
    for m in messages:
        outputs = by_message.get(m.input.id)
        if not plans[m.input.id] or outputs is None:
            continue
        event = processed_event(m.input.id, outputs, tag_paths[m.input.id])
        publish_after_commit(session, runtime.store, m.input.user_id, "email_processed", event)
        suggestion = suggestion_event(m.input.id, outputs)
        if suggestion is not None:
            publish_after_commit(
                session, runtime.store, m.input.user_id, "ai_suggestion", suggestion
            )


async def _corrected(
    session: AsyncSession, message_ids: list[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], list[Any]]:
    """``(message, feature) -> old values`` of the user's corrections of these messages: a
    re-run keeps what the user set, and does not put back an AI tag they removed."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(AIFeedback.message_id, AIFeedback.feature, AIFeedback.old_value).where(
            AIFeedback.message_id.in_(message_ids)
        )
    )
    found: dict[tuple[uuid.UUID, str], list[Any]] = {}
    for mid, feature, old in rows:
        if mid is not None:
            found.setdefault((mid, feature), []).append(old)
    return found


def _removed_tags(values: list[Any]) -> set[str]:
    removed: set[str] = set()
    for value in values:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, str):
                removed.add(item.lower())
            elif isinstance(item, dict) and isinstance(item.get("path"), str):
                removed.add(item["path"].lower())
    return removed


async def _store_tags(
    session: AsyncSession,
    messages: list[LoadedMessage],
    by_message: dict[uuid.UUID, dict[str, StepResult]],
    copies: dict[uuid.UUID, _Copy],
    corrected: dict[tuple[uuid.UUID, str], list[Any]],
) -> None:
    from mailmind.tag.service import ensure_tags, normalize_path

    tagged = [m for m in messages if "tags" in by_message.get(m.input.id, {})]
    if not tagged:
        return
    # The AI's links are replaced; the user's own links stay untouched.
    await session.execute(
        delete(MessageTag).where(
            MessageTag.message_id.in_([m.input.id for m in tagged]), MessageTag.source == "ai"
        )
    )
    links: list[dict[str, Any]] = []
    # (message, path, confidence) to link, and the paths each user needs, created at once.
    wanted: list[tuple[LoadedMessage, str, Any]] = []
    paths_by_user: dict[uuid.UUID, list[str]] = {}
    for m in tagged:
        mid = m.input.id
        removed = _removed_tags(corrected.get((mid, "tags"), []))
        copy = copies.get(mid)
        if copy is not None:
            links.extend(
                {"message_id": mid, "tag_id": tag_id, "source": "ai", "confidence": confidence}
                for tag_id, confidence in copy.tags
            )
            continue
        for item in by_message[mid]["tags"].output.get("tags", []):
            path = item.get("path") if isinstance(item, dict) else None
            if not isinstance(path, str) or path.lower() in removed:
                continue
            try:
                path = normalize_path(path)
            except MailMindError:
                log.warning("pipeline_tag_invalid", path=path[:300])
                continue
            wanted.append((m, path, item.get("confidence")))
            paths_by_user.setdefault(m.input.user_id, []).append(path)
    tags: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
    for user_id, paths in paths_by_user.items():
        for tag in await ensure_tags(session, user_id, paths, source="ai"):
            tags[(user_id, tag.path.lower())] = tag.id
    seen: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for m, path, confidence in wanted:
        tag_id = tags[(m.input.user_id, path.lower())]
        if (m.input.id, tag_id) not in seen:
            seen.add((m.input.id, tag_id))
            links.append(
                {
                    "message_id": m.input.id,
                    "tag_id": tag_id,
                    "source": "ai",
                    "confidence": confidence,
                }
            )
    if links:
        await session.execute(insert(MessageTag).values(links).on_conflict_do_nothing())


def processed_event(
    message_id: uuid.UUID, got: dict[str, StepResult], tags: list[str]
) -> dict[str, Any]:
    """``email_processed`` as PRODUCT_SPEC §4 lists it; null for what was not computed."""
    classify = got.get("classify")
    priority = got.get("priority")
    summary = got.get("summary")
    suggestions = got.get("suggestions")
    return {
        "email_id": str(message_id),
        "classification": classify.output.get("category") if classify else None,
        "confidence": classify.confidence if classify else None,
        "priority": priority.output.get("score") if priority else None,
        "priority_band": priority.output.get("band") if priority else None,
        "reasons": list(priority.output.get("reasons", [])) if priority else [],
        "tags": tags,
        "summary": summary.output.get("summary") if summary else None,
        "action_items": list(summary.output.get("action_items", [])) if summary else [],
        "has_suggestions": bool(suggestions and suggestions.output.get("suggestions")),
    }


def suggestion_event(message_id: uuid.UUID, got: dict[str, StepResult]) -> dict[str, Any] | None:
    """``ai_suggestion`` when the mail is high priority, asks a question and has suggestions."""
    priority = got.get("priority")
    suggestions = got.get("suggestions")
    if priority is None or suggestions is None:
        return None
    items = suggestions.output.get("suggestions") or []
    score = priority.output.get("score")
    asks = any(
        isinstance(r, dict) and r.get("code") == "question_asked"
        for r in priority.output.get("reasons", [])
    )
    if not items or not isinstance(score, int) or score < SUGGESTION_PRIORITY or not asks:
        return None
    first = items[0] if isinstance(items[0], dict) else {"text": str(items[0])}
    return {
        "email_id": str(message_id),
        "suggestion_type": "response",
        "content": first.get("text", ""),
        "confidence": suggestions.confidence,
    }
