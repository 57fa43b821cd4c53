"""OpenAI Chat Completions and Embeddings over HTTP: OpenAI itself, Azure OpenAI and any
OpenAI-compatible server (Ollama, vLLM) behind ``OPENAI_BASE_URL``.

Structured output uses ``response_format={"type": "json_schema", "json_schema": {...,
"strict": true}}``; the answer is validated with the caller's pydantic model all the same, since
compatible servers may not enforce the schema.

Azure differs only in addressing: ``{endpoint}/openai/deployments/{deployment}/chat/completions
?api-version=…`` with an ``api-key`` header instead of ``Authorization: Bearer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
from pydantic import BaseModel

from mailmind.integrations.ai.base import (
    DEFAULT_TIMEOUT,
    Usage,
    post_json,
    strict_json_schema,
    validate_output,
)
from mailmind.integrations.ai.errors import AIProviderError, InvalidOutput

if TYPE_CHECKING:
    from mailmind.config import Settings

OPENAI_BASE_URL = "https://api.openai.com/v1"
EMBEDDING_DIMENSIONS = 384  # the vector(384) columns; text-embedding-3-* shorten on request
EMBEDDING_BATCH = 64


@dataclass(frozen=True)
class OpenAIEndpoint:
    """Where and how to reach an OpenAI-style API."""

    base_url: str = OPENAI_BASE_URL
    api_key: str | None = None
    api_version: str | None = None  # set → Azure addressing

    @property
    def azure(self) -> bool:
        return self.api_version is not None

    def url(self, operation: str, model: str) -> str:
        """``operation`` is ``chat/completions`` or ``embeddings``."""
        base = self.base_url.rstrip("/")
        if self.azure:
            return f"{base}/openai/deployments/{model}/{operation}"
        return f"{base}/{operation}"

    def params(self) -> dict[str, str] | None:
        return {"api-version": self.api_version} if self.api_version else None

    def headers(self) -> dict[str, str]:
        if not self.api_key:
            return {}  # Ollama and vLLM need none
        if self.azure:
            return {"api-key": self.api_key}
        return {"Authorization": f"Bearer {self.api_key}"}

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIEndpoint:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return cls(
            base_url=settings.openai_base_url or OPENAI_BASE_URL,
            api_key=key,
            api_version=settings.openai_api_version,
        )


def parse_chat_completion(
    data: dict[str, Any], schema: type[BaseModel], *, provider: str = "openai"
) -> tuple[dict[str, Any], Usage]:
    """The validated structured output and usage of a Chat Completions answer.

    A refusal, a truncated answer (``finish_reason: length``) or content that does not match
    ``schema`` is :class:`InvalidOutput`."""
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise InvalidOutput("the answer has no choices", provider=provider)
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise InvalidOutput("the answer has no message", provider=provider)
    if message.get("refusal"):
        raise InvalidOutput("the model refused to answer", provider=provider)
    if choice.get("finish_reason") == "length":
        raise InvalidOutput("the answer was cut off at max_tokens", provider=provider)
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        raise InvalidOutput("the answer has no text content", provider=provider)
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    assert isinstance(usage, dict)
    return validate_output(provider, schema, content), Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
    )


class OpenAIProvider:
    """Chat Completions with JSON-schema structured output."""

    name = "openai"

    def __init__(self, http: httpx.AsyncClient, endpoint: OpenAIEndpoint, model: str) -> None:
        self.http = http
        self.endpoint = endpoint
        self.model = model

    @classmethod
    def from_settings(cls, http: httpx.AsyncClient, settings: Settings) -> OpenAIProvider:
        return cls(http, OpenAIEndpoint.from_settings(settings), settings.openai_model)

    def request_body(
        self, *, system: str, prompt: str, schema: type[BaseModel], max_tokens: int
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": prompt},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": schema.__name__,
                    "schema": strict_json_schema(schema),
                    "strict": True,
                },
            },
            "max_tokens": max_tokens,
            "temperature": 0.2,
        }
        if not self.endpoint.azure:
            body["model"] = self.model  # Azure takes the deployment from the path
        return body

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
            self.endpoint.url("chat/completions", self.model),
            body=self.request_body(
                system=system, prompt=prompt, schema=schema, max_tokens=max_tokens
            ),
            headers=self.endpoint.headers(),
            params=self.endpoint.params(),
            timeout=timeout,
        )
        return parse_chat_completion(data, schema, provider=self.name)


def parse_embeddings(data: dict[str, Any], count: int, *, provider: str = "openai") -> np.ndarray:
    """The vectors of an Embeddings answer in input order, L2-normalised float32."""
    items = data.get("data")
    if not isinstance(items, list) or len(items) != count:
        raise InvalidOutput("the answer does not hold one embedding per input", provider=provider)
    try:
        ordered = sorted(items, key=lambda item: int(item["index"]))
        matrix = np.asarray([item["embedding"] for item in ordered], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidOutput("malformed embeddings", provider=provider) from exc
    if matrix.ndim != 2:
        raise InvalidOutput("malformed embeddings", provider=provider)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: np.ndarray = matrix / np.where(norms == 0, 1.0, norms)
    return normalised


class OpenAIEmbedder:
    """Embeddings through ``/embeddings`` (the Embedder interface of
    ``mailmind.integrations.ai.embeddings``): normalised float32 rows of
    :data:`EMBEDDING_DIMENSIONS`, requested in batches of :data:`EMBEDDING_BATCH`."""

    name = "openai"

    def __init__(
        self,
        http: httpx.AsyncClient,
        endpoint: OpenAIEndpoint,
        model: str,
        *,
        dimensions: int = EMBEDDING_DIMENSIONS,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.http = http
        self.endpoint = endpoint
        self.model = model
        self.dimensions = dimensions
        self.timeout = timeout
        self.model_name = f"openai/{model}"

    @classmethod
    def from_settings(cls, http: httpx.AsyncClient, settings: Settings) -> OpenAIEmbedder:
        return cls(
            http,
            OpenAIEndpoint.from_settings(settings),
            settings.openai_embedding_model,
            timeout=settings.ai_timeout,
        )

    async def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        parts = []
        for start in range(0, len(texts), EMBEDDING_BATCH):
            batch = [text or " " for text in texts[start : start + EMBEDDING_BATCH]]
            body: dict[str, Any] = {
                "input": batch,
                "dimensions": self.dimensions,
                "encoding_format": "float",
            }
            if not self.endpoint.azure:
                body["model"] = self.model
            data = await post_json(
                self.http,
                self.name,
                self.endpoint.url("embeddings", self.model),
                body=body,
                headers=self.endpoint.headers(),
                params=self.endpoint.params(),
                timeout=self.timeout,
            )
            parts.append(parse_embeddings(data, len(batch), provider=self.name))
        matrix = np.concatenate(parts)
        if matrix.shape[1] != self.dimensions:
            raise AIProviderError(
                "api",
                f"the model returned {matrix.shape[1]} dimensions, not {self.dimensions}",
                provider=self.name,
                transient=False,
            )
        return matrix
