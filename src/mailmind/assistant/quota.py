"""When text may go to a remote provider, the hourly quota, and the counted remote call.

The rules (PRODUCT_SPEC §2.5 Controls, Local-only, Providers/quota), in order:

1. ``AI_LOCAL_ONLY`` on the server, or the user's ``ai.local_only``: never.
2. AI switched off, or the feature switched off: never (nothing is computed at all).
3. The feature's provider is ``local``: never.
4. No provider configured (``LLM_PROVIDER`` and its key or base URL): never.
5. More than ``RATE_LIMIT_AI`` (50/h) remote generations of the user in the current hour: not now.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import BaseModel

from mailmind.config import parse_rate
from mailmind.integrations.ai.base import GenerationProvider, Usage, get_provider
from mailmind.integrations.ai.errors import AIProviderError
from mailmind.metrics import AI_REMOTE_CALLS
from mailmind.redis import StoreUnavailable
from mailmind.runtime import Runtime
from mailmind.settings.schemas import AISettings

log = structlog.get_logger(__name__)


def quota_key(user_id: uuid.UUID) -> str:
    return f"rl:ai:{user_id}"


def blocked_reason(runtime: Runtime, ai: AISettings, feature: str) -> str | None:
    """Why ``feature`` may not go remote for a user with ``ai`` (rules 1–4), or None."""
    if runtime.settings.ai_local_only:
        return "server_local_only"
    if ai.local_only:
        return "local_only"
    if not ai.enabled or not ai.feature(feature).enabled:
        return "disabled"
    if ai.feature(feature).provider == "local":
        return "preference"
    if get_provider(runtime, ai.model_dump()) is None:
        return "not_configured"
    return None


async def quota_left(runtime: Runtime, user_id: uuid.UUID) -> bool:
    """Whether the user has remote generations left in this window (without using one)."""
    limit, _ = parse_rate(runtime.settings.rate_limit_ai)
    value = await runtime.store.get(quota_key(user_id))
    return (int(value) if value and value.isdigit() else 0) < limit


async def take_quota(runtime: Runtime, user_id: uuid.UUID) -> tuple[bool, int]:
    """Use one remote generation: (allowed, seconds until the window ends)."""
    limit, window = parse_rate(runtime.settings.rate_limit_ai)
    hits, retry_after = await runtime.store.incr_window(quota_key(user_id), window)
    return hits <= limit, retry_after


def _ai(ai: AISettings | Mapping[str, Any] | None) -> AISettings:
    if isinstance(ai, AISettings):
        return ai
    from mailmind.settings.service import ai_settings_of

    return ai_settings_of({"ai": dict(ai)} if ai is not None else None)


async def acquire_remote(
    runtime: Runtime,
    user_id: uuid.UUID,
    feature: str,
    ai: AISettings | Mapping[str, Any] | None,
) -> GenerationProvider | None:
    """The provider to use for one remote generation of ``feature``, with one unit of the
    user's quota taken; None when the rules say local (the caller then computes locally).
    ``ai`` is the user's ``settings.ai`` (the pipeline's ``UserContext.ai``)."""
    settings = _ai(ai)
    if blocked_reason(runtime, settings, feature) is not None:
        return None
    try:
        allowed, _ = await take_quota(runtime, user_id)
    except StoreUnavailable:
        # Without the counter the quota cannot be kept: stay local until the store is back.
        log.warning("ai_quota_store_unavailable")
        return None
    if not allowed:
        AI_REMOTE_CALLS.labels(
            provider=runtime.settings.llm_provider, feature=feature, outcome="quota"
        ).inc()
        return None
    return get_provider(runtime, settings.model_dump())


@dataclass
class RemoteCall:
    """A remote generation that succeeded."""

    output: dict[str, Any]
    usage: Usage
    provider: str
    model: str
    latency_ms: int
    sent_payload: dict[str, Any]


def sent_record(
    provider: GenerationProvider, *, feature: str, system: str, prompt: str
) -> dict[str, Any]:
    """What leaves the server, as stored in ``AIDecision.sent_payload``."""
    return {
        "provider": provider.name,
        "model": provider.model,
        "feature": feature,
        "system": system,
        "prompt": prompt,
    }


async def call_remote(
    runtime: Runtime,
    provider: GenerationProvider,
    *,
    feature: str,
    system: str,
    prompt: str,
    schema: type[BaseModel],
    max_tokens: int = 1024,
) -> RemoteCall:
    """One structured generation, counted in ``ai_remote_calls_total{provider,feature,outcome}``
    (outcome ``ok`` or the error's reason). Raises :class:`AIProviderError`."""
    started = time.perf_counter()
    try:
        output, usage = await provider.complete_json(
            system=system,
            prompt=prompt,
            schema=schema,
            max_tokens=max_tokens,
            timeout=runtime.settings.ai_timeout,
        )
    except AIProviderError as exc:
        AI_REMOTE_CALLS.labels(provider=provider.name, feature=feature, outcome=exc.reason).inc()
        log.warning(
            "ai_remote_call_failed",
            provider=provider.name,
            feature=feature,
            reason=exc.reason,
            status=exc.status,
        )
        raise
    AI_REMOTE_CALLS.labels(provider=provider.name, feature=feature, outcome="ok").inc()
    return RemoteCall(
        output=output,
        usage=usage,
        provider=provider.name,
        model=provider.model,
        latency_ms=int((time.perf_counter() - started) * 1000),
        sent_payload=sent_record(provider, feature=feature, system=system, prompt=prompt),
    )
