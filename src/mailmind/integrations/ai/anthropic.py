"""Anthropic Messages API over HTTP (``POST /v1/messages``, ``anthropic-version: 2023-06-01``).

Structured output is a forced tool call: the request offers one tool whose ``input_schema`` is the
caller's JSON Schema and sets ``tool_choice`` to it, so the answer's ``tool_use`` block carries
the JSON as its ``input``. A model that answers in text instead is still accepted when the text
is the JSON; either way the caller's pydantic model validates it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel

from mailmind.integrations.ai.base import (
    DEFAULT_TIMEOUT,
    Usage,
    post_json,
    strict_json_schema,
    validate_output,
)
from mailmind.integrations.ai.errors import InvalidOutput

if TYPE_CHECKING:
    from mailmind.config import Settings

ANTHROPIC_VERSION = "2023-06-01"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
TOOL_NAME = "record_result"


def parse_message(
    data: dict[str, Any],
    schema: type[BaseModel],
    *,
    tool_name: str = TOOL_NAME,
    provider: str = "anthropic",
) -> tuple[dict[str, Any], Usage]:
    """The validated structured output and usage of a Messages answer: the ``input`` of the
    ``tool_use`` block named ``tool_name``, else JSON in the text blocks."""
    content = data.get("content")
    if data.get("type") not in (None, "message") or not isinstance(content, list):
        raise InvalidOutput("the answer is not a message", provider=provider)
    if data.get("stop_reason") == "max_tokens":
        raise InvalidOutput("the answer was cut off at max_tokens", provider=provider)
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    assert isinstance(usage, dict)
    tokens = Usage(
        input_tokens=int(usage.get("input_tokens") or 0),
        output_tokens=int(usage.get("output_tokens") or 0),
    )
    blocks = [block for block in content if isinstance(block, dict)]
    for block in blocks:
        if block.get("type") == "tool_use" and block.get("name") == tool_name:
            return validate_output(provider, schema, block.get("input")), tokens
    text = "".join(
        str(block.get("text", "")) for block in blocks if block.get("type") == "text"
    ).strip()
    if not text:
        raise InvalidOutput("the answer has neither the tool call nor text", provider=provider)
    return validate_output(provider, schema, text), tokens


class AnthropicProvider:
    """Claude through the Messages API with tool-use structured output."""

    name = "anthropic"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str,
        model: str,
        base_url: str = ANTHROPIC_BASE_URL,
    ) -> None:
        self.http = http
        self.api_key = api_key
        self.model = model
        self.base_url = base_url.rstrip("/")

    @classmethod
    def from_settings(cls, http: httpx.AsyncClient, settings: Settings) -> AnthropicProvider:
        assert settings.anthropic_api_key is not None
        return cls(
            http,
            api_key=settings.anthropic_api_key.get_secret_value(),
            model=settings.anthropic_model,
            base_url=settings.anthropic_base_url,
        )

    def request_body(
        self, *, system: str, prompt: str, schema: type[BaseModel], max_tokens: int
    ) -> dict[str, Any]:
        return {
            "model": self.model,
            "max_tokens": max_tokens,
            "system": system,
            "messages": [{"role": "user", "content": prompt}],
            "tools": [
                {
                    "name": TOOL_NAME,
                    "description": "Record the result in the required structure.",
                    "input_schema": strict_json_schema(schema),
                }
            ],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
            "temperature": 0.2,
        }

    async def complete_json(
        self,
        *,
        system: str,
        prompt: str,
        schema: type[BaseModel],
        max_tokens: int = 1024,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - part of the provider interface
    ) -> tuple[dict[str, Any], Usage]:
        data = await post_json(
            self.http,
            self.name,
            f"{self.base_url}/v1/messages",
            body=self.request_body(
                system=system, prompt=prompt, schema=schema, max_tokens=max_tokens
            ),
            headers={"x-api-key": self.api_key, "anthropic-version": ANTHROPIC_VERSION},
            timeout=timeout,
        )
        return parse_message(data, schema, provider=self.name)
