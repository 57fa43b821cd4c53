"""``/api/ai``: on-demand classification, tags, summaries and reply suggestions, learned
corrections; ``/api/emails/{id}/ai-decisions``: the decision log of a mail."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status

from mailmind.assistant import service
from mailmind.assistant.schemas import (
    ClassifyRequest,
    ClassifyResponse,
    DecisionList,
    FeedbackPage,
    SuggestionsResponse,
    SummarizeRequest,
    SummaryResponse,
    TagsRequest,
    TagsResponse,
    Tone,
)
from mailmind.deps import CurrentAuth, DbSession, RuntimeDep
from mailmind.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from mailmind.message.endpoints import OwnedMessage

router = APIRouter(prefix="/api", tags=["ai"])


@router.post("/ai/classify", response_model=ClassifyResponse, summary="Classify mails (≤50)")
async def classify(
    body: ClassifyRequest, auth: CurrentAuth, session: DbSession, runtime: RuntimeDep
) -> ClassifyResponse:
    results = await service.classify(
        session, runtime, auth.user, email_ids=body.email_ids, force=body.force
    )
    return ClassifyResponse(results=results)


@router.post(
    "/ai/generate-tags", response_model=TagsResponse, summary="Suggest (and apply) tags (≤50)"
)
async def generate_tags(
    body: TagsRequest, auth: CurrentAuth, session: DbSession, runtime: RuntimeDep
) -> TagsResponse:
    results = await service.generate_tags(
        session, runtime, auth.user, email_ids=body.email_ids, apply=body.apply
    )
    return TagsResponse(results=results)


@router.post(
    "/ai/summarize", response_model=SummaryResponse, summary="Summarise a mail or a thread"
)
async def summarize(
    body: SummarizeRequest, auth: CurrentAuth, session: DbSession, runtime: RuntimeDep
) -> SummaryResponse:
    return await service.summarize(
        session,
        runtime,
        auth.user,
        email_id=body.email_id,
        thread_id=body.thread_id,
        style=body.style,
    )


@router.get(
    "/ai/suggestions", response_model=SuggestionsResponse, summary="Reply suggestions for a mail"
)
async def suggestions(
    auth: CurrentAuth,
    session: DbSession,
    runtime: RuntimeDep,
    email_id: uuid.UUID,
    tone: Tone = "business",
) -> SuggestionsResponse:
    return await service.suggestions(session, runtime, auth.user, email_id=email_id, tone=tone)


@router.get(
    "/emails/{email_id}/ai-decisions",
    response_model=DecisionList,
    summary='The AI decisions about a mail ("Why?")',
)
async def ai_decisions(message: OwnedMessage, session: DbSession) -> DecisionList:
    return DecisionList(items=await service.decisions(session, message))


@router.get("/ai/feedback", response_model=FeedbackPage, summary="Learned corrections")
async def list_feedback(
    auth: CurrentAuth,
    session: DbSession,
    feature: Literal["classify", "priority", "tags"] | None = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> FeedbackPage:
    return await service.list_feedback(
        session, auth.user.id, feature=feature, cursor=cursor, limit=limit
    )


@router.delete(
    "/ai/feedback/{feedback_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Forget a correction",
)
async def delete_feedback(
    auth: CurrentAuth, session: DbSession, feedback_id: Annotated[uuid.UUID, Path()]
) -> Response:
    await service.delete_feedback(session, auth.user.id, feedback_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
