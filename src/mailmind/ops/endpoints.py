"""``/health`` (liveness), ``/ready`` (dependencies) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from mailmind.admin import repository as admin_repo
from mailmind.deps import RuntimeDep
from mailmind.errors import AuthError
from mailmind.kit.time import isoformat, utcnow
from mailmind.metrics import JOBS, render_metrics
from mailmind.runtime import Runtime

router = APIRouter(tags=["operations"])
log = structlog.get_logger(__name__)

CheckState = Literal["ok", "degraded", "down", "disabled"]
CHECK_TIMEOUT = 3.0


class Health(BaseModel):
    status: Literal["healthy"]
    timestamp: str
    version: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, CheckState]


@router.get("/health", response_model=Health)
async def health(runtime: RuntimeDep) -> Health:
    return Health(
        status="healthy", timestamp=isoformat(utcnow()), version=runtime.settings.app_version
    )


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(runtime: RuntimeDep) -> JSONResponse:
    async def probe(check: Awaitable[None]) -> CheckState:
        try:
            await asyncio.wait_for(check, CHECK_TIMEOUT)
        except Exception:
            return "down"
        return "ok"

    database = await probe(runtime.db.ping())
    redis: CheckState = (
        await probe(runtime.store.ping()) if runtime.redis_configured else "disabled"
    )
    checks: dict[str, CheckState] = {
        "database": database,
        "redis": redis,
        # pgvector lives in the database; Pinecone and remote AI join these checks with their
        # integrations; a remote AI outage will only degrade, since local AI keeps answering.
        "vector_store": database,
        "ai_provider": "disabled",
    }
    is_ready = database == "ok" and redis in {"ok", "disabled"}
    body = Readiness(ready=is_ready, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if is_ready else 503)


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    token = runtime.settings.metrics_token
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}"
        if not authorization or not hmac.compare_digest(authorization, expected):
            raise AuthError("AUTH003", "Metrics token required")
    await _refresh_job_gauges(runtime)
    payload, content_type = render_metrics()
    return Response(payload, media_type=content_type)


async def _refresh_job_gauges(runtime: Runtime) -> None:
    """``jobs{queue,status}`` from the queue table itself, so any API replica reports the truth."""
    try:
        async with runtime.db.session() as session:
            counts = await asyncio.wait_for(
                admin_repo.count_by_queue_status(session), CHECK_TIMEOUT
            )
    except Exception:
        log.warning("job_gauges_unavailable")
        return
    JOBS.clear()
    for queue, status, count in counts:
        JOBS.labels(queue, status).set(count)
