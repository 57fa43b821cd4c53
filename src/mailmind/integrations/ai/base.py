"""Remote text generation: the provider interface, shared HTTP handling and provider selection.

A provider turns a system prompt and a user prompt into JSON that validates against a pydantic
model (structured output). Providers send requests on the runtime's shared
``httpx.AsyncClient``; every failure becomes an :class:`~.errors.AIProviderError`.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from pydantic import BaseModel, ValidationError

from mailmind.integrations.ai.errors import AIProviderError, InvalidOutput

if TYPE_CHECKING:
    from mailmind.runtime import Runtime

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Usage:
    """Tokens a call consumed, as the provider reported them (0 when it did not)."""

    input_tokens: int = 0
    output_tokens: int = 0


class GenerationProvider(Protocol):
    """A remote model that answers with structured JSON."""

    name: str  # "openai" | "anthropic"
    model: str

    async def complete_json(
        self,
        *,
        system: str,
        prompt: str,
        schema: type[BaseModel],
        max_tokens: int = 1024,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - part of the provider interface
    ) -> tuple[dict[str, Any], Usage]:
        """Ask the model; return the answer validated by ``schema`` (as JSON-ready data) and
        the usage. Raises :class:`AIProviderError` (:class:`InvalidOutput` for an answer that
        does not match ``schema``)."""
        ...


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON Schema in the subset strict structured-output modes accept: every object
    closed (``additionalProperties: false``) with all its properties required (optional fields
    are nullable instead), without ``title``/``default`` annotations or string lengths."""
    schema = copy.deepcopy(model.model_json_schema())

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            # Annotations and string-length limits are refused by some strict modes; the
            # pydantic validation of the answer still enforces the limits.
            for key in ("title", "default", "minLength", "maxLength"):
                node.pop(key, None)
            if node.get("type") == "object" and isinstance(node.get("properties"), dict):
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(schema)
    return schema


def validate_output(provider: str, schema: type[BaseModel], data: Any) -> dict[str, Any]:
    """Validate decoded output (or JSON text) against ``schema``; InvalidOutput otherwise."""
    try:
        if isinstance(data, str):
            parsed = schema.model_validate_json(_strip_fences(data))
        else:
            parsed = schema.model_validate(data)
    except ValidationError as exc:
        raise InvalidOutput(
            f"the answer does not match the requested schema ({exc.error_count()} errors)",
            provider=provider,
        ) from exc
    return parsed.model_dump(mode="json")


def _strip_fences(text: str) -> str:
    # Models asked for "JSON only" still wrap it in a Markdown fence now and then.
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


def retry_after_seconds(headers: httpx.Headers, default: int = 60) -> int:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), else ``default``."""
    value = headers.get("retry-after")
    if not value:
        return default
    try:
        return max(1, int(float(value)))
    except ValueError:
        pass
    try:
        from mailmind.kit.time import utcnow

        return max(1, int((parsedate_to_datetime(value) - utcnow()).total_seconds()))
    except (TypeError, ValueError):
        return default


async def post_json(
    http: httpx.AsyncClient,
    provider: str,
    url: str,
    *,
    body: dict[str, Any],
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    timeout: float,  # noqa: ASYNC109 - httpx's per-operation limit plus an overall deadline
) -> dict[str, Any]:
    """POST ``body`` as JSON and return the decoded JSON object, mapping every failure to an
    :class:`AIProviderError` (timeout AI007, 429 AI003, connection/overload AI002, other AI001)."""
    try:
        # httpx limits each read; the deadline also bounds a server that trickles bytes.
        async with asyncio.timeout(timeout):
            response = await http.post(
                url, json=body, headers=dict(headers), params=params, timeout=timeout
            )
    except (httpx.TimeoutException, TimeoutError) as exc:
        raise AIProviderError(
            "timeout", f"no answer within {timeout:g} s", provider=provider, transient=True
        ) from exc
    except httpx.HTTPError as exc:
        raise AIProviderError(
            "unavailable",
            f"connection failed: {type(exc).__name__}",
            provider=provider,
            transient=True,
        ) from exc
    status = response.status_code
    if status == 429:
        raise AIProviderError(
            "rate_limit",
            _error_message(response) or "rate limited",
            provider=provider,
            transient=True,
            status=status,
            retry_after=retry_after_seconds(response.headers),
        )
    if status in (502, 503, 504, 529):
        raise AIProviderError(
            "unavailable",
            _error_message(response) or f"HTTP {status}",
            provider=provider,
            transient=True,
            status=status,
        )
    if status >= 400:
        raise AIProviderError(
            "api",
            _error_message(response) or f"HTTP {status}",
            provider=provider,
            transient=status >= 500 or status == 408,
            status=status,
        )
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidOutput("the answer is not JSON", provider=provider) from exc
    if not isinstance(data, dict):
        raise InvalidOutput("the answer is not a JSON object", provider=provider)
    return data


def _error_message(response: httpx.Response) -> str | None:
    """The provider's error message: OpenAI ``{"error": {"message"}}``, Anthropic
    ``{"type": "error", "error": {"type", "message"}}``."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        kind = error.get("type") or error.get("code")
        message: str = error["message"][:300]
        return f"{kind}: {message}" if isinstance(kind, str) else message
    return None


def configured_provider(runtime: Runtime) -> str | None:
    """The server's generation provider (``LLM_PROVIDER``) when it is usable: ``openai`` needs a
    key or a base URL (Ollama and vLLM need no key), ``anthropic`` a key. None otherwise, and
    always under ``AI_LOCAL_ONLY``."""
    settings = runtime.settings
    if settings.ai_local_only:
        return None
    if settings.llm_provider == "openai" and (settings.openai_api_key or settings.openai_base_url):
        return "openai"
    if settings.llm_provider == "anthropic" and settings.anthropic_api_key:
        return "anthropic"
    return None


def get_provider(
    runtime: Runtime, ai_settings: Mapping[str, Any] | None = None
) -> GenerationProvider | None:
    """The remote generation provider, or None when remote generation is not possible for this
    user: the server or the user is local-only, the user switched AI off, or no provider is
    configured. The hourly quota is not checked here (see
    ``mailmind.assistant.service.acquire_remote``)."""
    if ai_settings is not None and (
        ai_settings.get("local_only") or ai_settings.get("enabled") is False
    ):
        return None
    name = configured_provider(runtime)
    if name == "openai":
        from mailmind.integrations.ai.openai import OpenAIProvider

        return OpenAIProvider.from_settings(runtime.http, runtime.settings)
    if name == "anthropic":
        from mailmind.integrations.ai.anthropic import AnthropicProvider

        return AnthropicProvider.from_settings(runtime.http, runtime.settings)
    return None


__all__ = [
    "DEFAULT_TIMEOUT",
    "AIProviderError",
    "GenerationProvider",
    "InvalidOutput",
    "Usage",
    "configured_provider",
    "get_provider",
    "post_json",
    "strict_json_schema",
    "validate_output",
]
