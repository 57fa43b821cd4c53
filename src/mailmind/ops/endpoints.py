"""``/health`` (liveness), ``/ready`` (dependencies) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from mailmind.deps import RuntimeDep
from mailmind.errors import AuthError
from mailmind.kit.time import isoformat, utcnow
from mailmind.metrics import render_metrics

router = APIRouter(tags=["operations"])

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
    async def probe(check: object) -> CheckState:
        try:
            await asyncio.wait_for(check, CHECK_TIMEOUT)  # type: ignore[arg-type]
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
    payload, content_type = render_metrics()
    return Response(payload, media_type=content_type)
