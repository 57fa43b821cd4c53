"""Fake AI providers speaking the real HTTP APIs, served through httpx.MockTransport:

- OpenAI ``POST /v1/chat/completions`` (structured output through ``response_format``
  json_schema, checked with jsonschema as strict mode guarantees) and ``POST /v1/embeddings``;
- Azure OpenAI ``POST /openai/deployments/{deployment}/…?api-version=`` with ``api-key``;
- any OpenAI-compatible base URL (Ollama: ``http://ollama.test:11434/v1``, no key);
- Anthropic ``POST /v1/messages`` with ``x-api-key`` and ``anthropic-version``, answering with a
  ``tool_use`` block for the forced tool.

Answers have the shape of the recorded documented responses in ``recorded/`` (checked by
``test_recorded.py``). ``fail`` makes the next answers fail the way the real services do.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import jsonschema

Failure = Literal["timeout", "429", "500", "503", "malformed", "refusal"] | None

OPENAI_KEY = "sk-test-openai"
AZURE_KEY = "azure-test-key"
ANTHROPIC_KEY = "sk-ant-test"


@dataclass
class FakeAI:
    """Every provider at once; dispatches on the host."""

    reply: dict[str, Any] = field(default_factory=dict)  # the structured output to answer with
    fail: Failure = None
    retry_after: str = "17"
    requests: list[httpx.Request] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    dimensions_default: int = 1536

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport())

    # --- dispatch ---------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.content or b"{}")
        self.bodies.append(body)
        host = request.url.host
        path = request.url.path
        if host == "api.anthropic.com":
            return self._anthropic(request, body)
        if host.endswith(".openai.azure.com"):
            return self._azure(request, body)
        # api.openai.com or any OpenAI-compatible server
        if host == "api.openai.com" and request.headers.get("authorization") != (
            f"Bearer {OPENAI_KEY}"
        ):
            return self._openai_error(401, "invalid_request_error", "Incorrect API key provided")
        if path.endswith("/chat/completions"):
            return self._chat(body, model=body.get("model"))
        if path.endswith("/embeddings"):
            return self._embeddings(body, model=body.get("model"))
        return self._openai_error(404, "invalid_request_error", "Unknown path")

    # --- OpenAI ---------------------------------------------------------------------------------

    @staticmethod
    def _openai_error(status: int, kind: str, message: str, **headers: str) -> httpx.Response:
        return httpx.Response(
            status,
            json={"error": {"message": message, "type": kind, "param": None, "code": None}},
            headers=headers,
        )

    def _failure(self, request_kind: Literal["openai", "anthropic"]) -> httpx.Response | None:
        if self.fail == "timeout":
            raise httpx.ReadTimeout("timed out")
        if self.fail == "429":
            if request_kind == "anthropic":
                return httpx.Response(
                    429,
                    json={
                        "type": "error",
                        "error": {"type": "rate_limit_error", "message": "Rate limited"},
                    },
                    headers={"retry-after": self.retry_after},
                )
            return self._openai_error(
                429,
                "requests",
                "Rate limit reached for requests",
                **{"retry-after": self.retry_after},
            )
        if self.fail in ("500", "503"):
            status = int(self.fail)
            if request_kind == "anthropic":
                return httpx.Response(
                    status,
                    json={"type": "error", "error": {"type": "api_error", "message": "Internal"}},
                )
            return self._openai_error(status, "server_error", "The server had an error")
        return None

    def _chat(self, body: dict[str, Any], *, model: str | None) -> httpx.Response:
        failed = self._failure("openai")
        if failed is not None:
            return failed
        assert isinstance(body.get("messages"), list) and body["messages"], "messages required"
        fmt = body.get("response_format") or {}
        assert fmt.get("type") == "json_schema", fmt
        spec = fmt["json_schema"]
        assert spec.get("strict") is True and isinstance(spec.get("name"), str)
        schema = spec["schema"]
        _assert_strict(schema)
        refusal = None
        if self.fail == "malformed":
            content: str | None = '{"summary": "cut off'
        elif self.fail == "refusal":
            content, refusal = None, "I'm sorry, I cannot help with that."
        else:
            # Strict mode guarantees an answer that matches the schema.
            jsonschema.validate(self.reply, schema)
            content = json.dumps(self.reply)
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-fake0000000000000000000001",
                "object": "chat.completion",
                "created": 1741569952,
                "model": model or "gpt-4o-mini-2024-07-18",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": content,
                            "refusal": refusal,
                            "annotations": [],
                        },
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": 120,
                    "completion_tokens": 40,
                    "total_tokens": 160,
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                    "completion_tokens_details": {
                        "reasoning_tokens": 0,
                        "audio_tokens": 0,
                        "accepted_prediction_tokens": 0,
                        "rejected_prediction_tokens": 0,
                    },
                },
                "service_tier": "default",
            },
        )

    def _embeddings(self, body: dict[str, Any], *, model: str | None) -> httpx.Response:
        failed = self._failure("openai")
        if failed is not None:
            return failed
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dimensions = int(body.get("dimensions") or self.dimensions_default)
        data = []
        for index, text in enumerate(inputs):
            # Deterministic, text-dependent, not normalised (the client normalises).
            vector = [math.sin(len(text) + i) * 3 for i in range(dimensions)]
            data.append({"object": "embedding", "embedding": vector, "index": index})
        # The API may list items out of order; the index says which input each belongs to.
        data.reverse()
        return httpx.Response(
            200,
            json={
                "object": "list",
                "data": data,
                "model": model or "text-embedding-3-small",
                "usage": {"prompt_tokens": 8, "total_tokens": 8},
            },
        )

    def _azure(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        if not request.url.params.get("api-version"):
            return self._openai_error(404, "404", "Resource not found")
        if request.headers.get("api-key") != AZURE_KEY:
            return httpx.Response(
                401,
                json={"error": {"code": "401", "message": "Access denied due to invalid key"}},
            )
        parts = request.url.path.split("/")
        # /openai/deployments/{deployment}/chat/completions
        if parts[1:3] != ["openai", "deployments"] or len(parts) < 5:
            return self._openai_error(404, "404", "Resource not found")
        deployment = parts[3]
        operation = "/".join(parts[4:])
        if operation == "chat/completions":
            return self._chat(body, model=deployment)
        if operation == "embeddings":
            return self._embeddings(body, model=deployment)
        return self._openai_error(404, "404", "Resource not found")

    # --- Anthropic ------------------------------------------------------------------------------

    def _anthropic(self, request: httpx.Request, body: dict[str, Any]) -> httpx.Response:
        if request.url.path != "/v1/messages":
            return httpx.Response(
                404, json={"type": "error", "error": {"type": "not_found_error", "message": ""}}
            )
        if request.headers.get("x-api-key") != ANTHROPIC_KEY:
            return httpx.Response(
                401,
                json={
                    "type": "error",
                    "error": {"type": "authentication_error", "message": "invalid x-api-key"},
                },
            )
        if not request.headers.get("anthropic-version"):
            return httpx.Response(
                400,
                json={
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "message": "anthropic-version: header is required",
                    },
                },
            )
        failed = self._failure("anthropic")
        if failed is not None:
            return failed
        assert isinstance(body.get("max_tokens"), int)
        assert body["messages"][0]["role"] == "user"
        choice = body.get("tool_choice") or {}
        tools = {tool["name"]: tool for tool in body.get("tools", [])}
        assert choice.get("type") == "tool" and choice.get("name") in tools
        schema = tools[choice["name"]]["input_schema"]
        if self.fail == "malformed":
            content: list[dict[str, Any]] = [{"type": "text", "text": "Sure! Here it is: {"}]
            stop = "end_turn"
        else:
            jsonschema.validate(self.reply, schema)
            content = [
                {
                    "type": "tool_use",
                    "id": "toolu_01FakeFakeFakeFakeFake",
                    "name": choice["name"],
                    "input": self.reply,
                }
            ]
            stop = "tool_use"
        return httpx.Response(
            200,
            json={
                "content": content,
                "id": "msg_01FakeFakeFakeFakeFakeFa",
                "model": body["model"],
                "role": "assistant",
                "stop_reason": stop,
                "stop_sequence": None,
                "type": "message",
                "usage": {"input_tokens": 300, "output_tokens": 60},
            },
        )

    # --- helpers for tests ----------------------------------------------------------------------

    def sent_text(self) -> str:
        """Everything the server was sent, as text."""
        return "\n".join(json.dumps(body, ensure_ascii=False) for body in self.bodies)


def _assert_strict(schema: Any) -> None:
    """OpenAI strict mode refuses schemas with open objects or optional properties."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            assert schema.get("additionalProperties") is False, schema
            assert set(schema.get("required", [])) == set(schema["properties"]), schema
        for value in schema.values():
            _assert_strict(value)
    elif isinstance(schema, list):
        for item in schema:
            _assert_strict(item)
