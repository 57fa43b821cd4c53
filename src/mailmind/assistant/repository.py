"""Queries of the assistant: thread messages, stored AI results, decisions and corrections."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.models import (
    AIDecision,
    AIFeedback,
    AIResult,
    Message,
    MessageChunk,
    MessageTag,
    Thread,
)
from mailmind.models.message import EMBEDDING_DIMENSIONS

MAX_DECISIONS = 200


async def get_thread(session: AsyncSession, thread_id: uuid.UUID) -> Thread | None:
    return await session.get(Thread, thread_id)


async def thread_messages(session: AsyncSession, thread: Thread) -> list[Message]:
    """The thread's live messages, oldest first."""
    rows = await session.scalars(
        select(Message)
        .where(
            Message.thread_id == thread.id,
            Message.user_id == thread.user_id,
            Message.deleted_at.is_(None),
        )
        .order_by(Message.date.asc().nulls_first(), Message.created_at, Message.id)
    )
    return list(rows.all())


async def result_with_decision(
    session: AsyncSession, message_id: uuid.UUID, feature: str
) -> tuple[AIResult, AIDecision | None] | None:
    row = (
        await session.execute(
            select(AIResult, AIDecision)
            .outerjoin(AIDecision, AIDecision.id == AIResult.decision_id)
            .where(AIResult.message_id == message_id, AIResult.feature == feature)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def results_for(
    session: AsyncSession, message_ids: Sequence[uuid.UUID], feature: str
) -> dict[uuid.UUID, AIResult]:
    if not message_ids:
        return {}
    rows = await session.scalars(
        select(AIResult).where(
            AIResult.message_id.in_(list(message_ids)), AIResult.feature == feature
        )
    )
    return {row.message_id: row for row in rows}


async def record(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    message_id: uuid.UUID,
    feature: str,
    output: dict[str, Any],
    confidence: float | None,
    reasons: list[Any],
    provider: str,
    model: str,
    prompt_version: str,
    input_hash: str,
    remote: bool,
    latency_ms: int,
    sent_payload: dict[str, Any] | None,
    mode: str,
) -> AIDecision:
    """Log the decision and make its output the message's current result for ``feature``."""
    decision = AIDecision(
        user_id=user_id,
        message_id=message_id,
        feature=feature,
        provider=provider,
        model=model,
        prompt_version=prompt_version,
        input_hash=input_hash,
        output=output,
        confidence=confidence,
        reasons=reasons,
        remote=remote,
        latency_ms=latency_ms,
        sent_payload=sent_payload,
    )
    session.add(decision)
    await session.flush()
    values = {
        "output": output,
        "confidence": confidence,
        "provider": provider,
        "model": model,
        "mode": mode,
        "decision_id": decision.id,
    }
    await session.execute(
        insert(AIResult)
        .values(message_id=message_id, user_id=user_id, feature=feature, **values)
        .on_conflict_do_update(constraint="uq_ai_results_feature", set_=values)
    )
    return decision


async def decisions_for(session: AsyncSession, message: Message) -> list[AIDecision]:
    """The decisions about ``message`` and its copies (same ``dedupe_key``: they share AI
    results), newest first."""
    owner: ColumnElement[bool] = AIDecision.message_id == message.id
    if message.dedupe_key:
        copies = select(Message.id).where(
            Message.user_id == message.user_id, Message.dedupe_key == message.dedupe_key
        )
        owner = or_(owner, AIDecision.message_id.in_(copies))
    rows = await session.scalars(
        select(AIDecision)
        .where(AIDecision.user_id == message.user_id, owner)
        .order_by(AIDecision.created_at.desc(), AIDecision.id.desc())
        .limit(MAX_DECISIONS)
    )
    return list(rows.all())


async def list_feedback(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    feature: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[AIFeedback]:
    """The user's corrections, newest first, keyset-paginated by ``(created_at, id)``."""
    query = select(AIFeedback).where(AIFeedback.user_id == user_id)
    if feature is not None:
        query = query.where(AIFeedback.feature == feature)
    if after is not None:
        created, last_id = after
        query = query.where(
            or_(
                AIFeedback.created_at < created,
                and_(AIFeedback.created_at == created, AIFeedback.id < last_id),
            )
        )
    rows = await session.scalars(
        query.order_by(AIFeedback.created_at.desc(), AIFeedback.id.desc()).limit(limit)
    )
    return list(rows.all())


async def get_feedback(session: AsyncSession, feedback_id: uuid.UUID) -> AIFeedback | None:
    return await session.get(AIFeedback, feedback_id)


async def delete_feedback(session: AsyncSession, feedback_id: uuid.UUID) -> None:
    await session.execute(delete(AIFeedback).where(AIFeedback.id == feedback_id))


async def corrected(
    session: AsyncSession, message_ids: Sequence[uuid.UUID], feature: str
) -> set[uuid.UUID]:
    """The messages among ``message_ids`` whose ``feature`` the user corrected."""
    if not message_ids:
        return set()
    rows = await session.scalars(
        select(AIFeedback.message_id).where(
            AIFeedback.message_id.in_(list(message_ids)), AIFeedback.feature == feature
        )
    )
    return {mid for mid in rows if mid is not None}


async def removed_tags(
    session: AsyncSession, message_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, set[str]]:
    """Per message, the (lower-cased) paths of AI tags the user removed from it."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(AIFeedback.message_id, AIFeedback.old_value).where(
            AIFeedback.message_id.in_(list(message_ids)), AIFeedback.feature == "tags"
        )
    )
    found: dict[uuid.UUID, set[str]] = {}
    for mid, old in rows:
        if mid is None:
            continue
        for item in old if isinstance(old, list) else [old]:
            path = item.get("path") if isinstance(item, dict) else item
            if isinstance(path, str):
                found.setdefault(mid, set()).add(path.lower())
    return found


async def link_ai_tag(
    session: AsyncSession, message_id: uuid.UUID, tag_id: uuid.UUID, confidence: float
) -> None:
    """Attach a tag as the AI's; a link the user made stays theirs."""
    await session.execute(
        insert(MessageTag)
        .values(message_id=message_id, tag_id=tag_id, source="ai", confidence=confidence)
        .on_conflict_do_nothing()
    )


async def category_feedback_state(
    session: AsyncSession, user_id: uuid.UUID
) -> tuple[int, datetime | None]:
    """How many category corrections the user has and when the newest was made: the key of
    the classifier's model of that user (any new or forgotten correction changes it)."""
    row = (
        await session.execute(
            select(func.count(), func.max(AIFeedback.created_at)).where(
                AIFeedback.user_id == user_id,
                AIFeedback.feature == "classify",
                AIFeedback.message_id.is_not(None),
            )
        )
    ).one()
    return int(row[0]), row[1]


async def category_corrections(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int
) -> list[tuple[Any, Message, Any]]:
    """The user's newest category corrections, the latest per message: ``(new_value, message,
    mean vector of its passages or None)``, newest first."""
    latest = (
        select(AIFeedback.message_id, AIFeedback.new_value, AIFeedback.created_at)
        .where(
            AIFeedback.user_id == user_id,
            AIFeedback.feature == "classify",
            AIFeedback.message_id.is_not(None),
        )
        .ext(distinct_on(AIFeedback.message_id))
        .order_by(AIFeedback.message_id, AIFeedback.created_at.desc())
        .subquery()
    )
    mean = (
        select(func.avg(MessageChunk.embedding, type_=Vector(EMBEDDING_DIMENSIONS)))
        .where(MessageChunk.message_id == latest.c.message_id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(latest.c.new_value, Message, mean)
        .join(Message, Message.id == latest.c.message_id)
        .where(Message.user_id == user_id)
        .order_by(latest.c.created_at.desc())
        .limit(limit)
    )
    return [(value, message, vector) for value, message, vector in rows]


async def kept_categories(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int
) -> list[tuple[str, Message, Any]]:
    """The user's newest classified messages whose category they did not correct:
    ``(category, message, mean vector of its passages or None)``, newest first."""
    corrected = select(AIFeedback.message_id).where(
        AIFeedback.user_id == user_id,
        AIFeedback.feature == "classify",
        AIFeedback.message_id.is_not(None),
    )
    mean = (
        select(func.avg(MessageChunk.embedding, type_=Vector(EMBEDDING_DIMENSIONS)))
        .where(MessageChunk.message_id == Message.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Message.category, Message, mean)
        .where(
            Message.user_id == user_id,
            Message.category.is_not(None),
            Message.deleted_at.is_(None),
            Message.id.not_in(corrected),
        )
        .order_by(Message.created_at.desc())
        .limit(limit)
    )
    return [(str(category), message, vector) for category, message, vector in rows]
