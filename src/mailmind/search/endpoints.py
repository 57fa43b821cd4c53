"""``GET /api/search``, ``POST /api/ai/ask`` (JSON or a Server-Sent Events stream) and
``GET /api/emails/{id}/related``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.sse import EventSourceResponse, format_sse_event
from starlette.responses import Response

from mailmind.deps import CurrentAuth, DbSession, RuntimeDep
from mailmind.kit.pagination import MAX_LIMIT
from mailmind.message.endpoints import OwnedMessage
from mailmind.search import service
from mailmind.search.query import MAX_QUERY_CHARS
from mailmind.search.schemas import AskAnswer, AskRequest, RelatedPage, SearchMode, SearchPage

router = APIRouter(prefix="/api", tags=["search"])

SEARCH_LIMIT = 20


@router.get("/search", response_model=SearchPage)
async def search(
    session: DbSession,
    runtime: RuntimeDep,
    auth: CurrentAuth,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS)] = "",
    mode: SearchMode = "hybrid",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = SEARCH_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    date_from: Annotated[str | None, Query(max_length=40)] = None,
    date_to: Annotated[str | None, Query(max_length=40)] = None,
) -> SearchPage:
    """Hybrid (default), keyword or semantic search with the operators of PRODUCT_SPEC §2.6.
    ``mode_used`` is ``keyword`` when vectors are unavailable. 20 searches per minute."""
    return await service.search(
        session,
        runtime,
        auth.user,
        q=q,
        mode=mode,
        limit=limit,
        cursor=cursor,
        date_from=date_from,
        date_to=date_to,
    )


def _wants_stream(request: Request, stream: bool) -> bool:
    return stream or "text/event-stream" in request.headers.get("accept", "")


async def _events(plan: service.AskPlan) -> AsyncIterator[bytes]:
    # Headers are out before the answer is written, so a slow provider keeps the stream open.
    yield format_sse_event(comment="answering")
    result = await service.answer(plan)
    for piece in service.answer_pieces(result.answer):
        yield format_sse_event(event="answer", data_str=_json({"delta": piece}))
    yield format_sse_event(
        event="citations", data_str=_json([c.model_dump(mode="json") for c in result.citations])
    )
    yield format_sse_event(event="done", data_str=_json({"mode": result.mode}))


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


@router.post(
    "/ai/ask",
    response_model=AskAnswer,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "The answer; as events `answer` ({delta}), `citations` and `done` "
            "({mode}) when streamed (`Accept: text/event-stream` or `?stream=1`).",
        }
    },
)
async def ask(
    request: Request,
    body: AskRequest,
    session: DbSession,
    runtime: RuntimeDep,
    auth: CurrentAuth,
    stream: bool = False,
) -> AskAnswer | Response:
    """Answer a question from the caller's own mail, citing it ([n] → ``citations[n-1]``)."""
    plan = await service.prepare_ask(session, runtime, auth.user, body)
    if _wants_stream(request, stream):
        return EventSourceResponse(
            _events(plan), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
    return await service.answer(plan)


@router.get("/emails/{email_id}/related", response_model=RelatedPage)
async def related(
    session: DbSession,
    runtime: RuntimeDep,
    message: OwnedMessage,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> RelatedPage:
    """The caller's messages nearest to this one by meaning, outside its thread."""
    return await service.related(session, runtime, message, limit=limit)
