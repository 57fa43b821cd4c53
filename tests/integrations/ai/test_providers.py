"""The OpenAI (also Azure, Ollama-compatible) and Anthropic clients against the fake servers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pytest
from pydantic import BaseModel, SecretStr

from mailmind.config import Settings
from mailmind.integrations.ai.anthropic import AnthropicProvider
from mailmind.integrations.ai.base import get_provider
from mailmind.integrations.ai.errors import AIProviderError, InvalidOutput
from mailmind.integrations.ai.openai import OpenAIEmbedder, OpenAIEndpoint, OpenAIProvider
from tests.integrations.ai.fake_providers import ANTHROPIC_KEY, AZURE_KEY, OPENAI_KEY, FakeAI


class ActionItem(BaseModel):
    text: str
    due_date: str | None = None


class Summary(BaseModel):
    summary: str
    action_items: list[ActionItem]


REPLY = {
    "summary": "Ada asks for the report.",
    "action_items": [{"text": "Send it", "due_date": None}],
}


@dataclass
class Rt:
    settings: Settings
    http: httpx.AsyncClient


def settings(**values: Any) -> Settings:
    return Settings(**values)


@pytest.fixture
def fake() -> FakeAI:
    return FakeAI(reply=REPLY)


async def test_openai_structured_output(fake: FakeAI):
    async with fake.client() as http:
        provider = OpenAIProvider(http, OpenAIEndpoint(api_key=OPENAI_KEY), "gpt-4o-mini")
        output, usage = await provider.complete_json(
            system="Summarise.", prompt="mail", schema=Summary, max_tokens=300
        )
    assert output == REPLY
    assert (usage.input_tokens, usage.output_tokens) == (120, 40)
    (request,) = fake.requests
    assert str(request.url) == "https://api.openai.com/v1/chat/completions"
    body = fake.bodies[0]
    assert body["model"] == "gpt-4o-mini"
    assert body["max_tokens"] == 300
    assert body["messages"] == [
        {"role": "system", "content": "Summarise."},
        {"role": "user", "content": "mail"},
    ]
    assert body["response_format"]["json_schema"]["name"] == "Summary"


async def test_azure_uses_deployment_path_api_version_and_api_key(fake: FakeAI):
    values = settings(
        LLM_PROVIDER="openai",
        OPENAI_API_KEY=AZURE_KEY,
        OPENAI_BASE_URL="https://contoso.openai.azure.com",
        OPENAI_API_VERSION="2024-10-21",
        OPENAI_MODEL="mail-gpt4o",
    )
    async with fake.client() as http:
        provider = get_provider(Rt(values, http))  # type: ignore[arg-type]
        assert provider is not None
        output, _ = await provider.complete_json(system="s", prompt="p", schema=Summary)
    assert output == REPLY
    (request,) = fake.requests
    assert request.url.path == "/openai/deployments/mail-gpt4o/chat/completions"
    assert request.url.params["api-version"] == "2024-10-21"
    assert request.headers["api-key"] == AZURE_KEY
    assert "authorization" not in request.headers
    assert "model" not in fake.bodies[0]


async def test_ollama_compatible_base_url_needs_no_key(fake: FakeAI):
    values = settings(
        LLM_PROVIDER="openai",
        OPENAI_BASE_URL="http://ollama.test:11434/v1",
        OPENAI_MODEL="llama3.1",
    )
    async with fake.client() as http:
        provider = get_provider(Rt(values, http))  # type: ignore[arg-type]
        assert provider is not None
        output, _ = await provider.complete_json(system="s", prompt="p", schema=Summary)
    assert output == REPLY
    (request,) = fake.requests
    assert str(request.url) == "http://ollama.test:11434/v1/chat/completions"
    assert "authorization" not in request.headers
    assert fake.bodies[0]["model"] == "llama3.1"


async def test_anthropic_forced_tool_and_headers(fake: FakeAI):
    values = settings(LLM_PROVIDER="anthropic", ANTHROPIC_API_KEY=ANTHROPIC_KEY)
    async with fake.client() as http:
        provider = get_provider(Rt(values, http))  # type: ignore[arg-type]
        assert isinstance(provider, AnthropicProvider)
        output, usage = await provider.complete_json(system="sys", prompt="p", schema=Summary)
    assert output == REPLY
    assert usage.output_tokens == 60
    (request,) = fake.requests
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = fake.bodies[0]
    assert body["system"] == "sys"
    assert body["tool_choice"] == {"type": "tool", "name": body["tools"][0]["name"]}


def test_no_provider_when_local_only_or_unconfigured():
    http = httpx.AsyncClient()
    configured = settings(LLM_PROVIDER="openai", OPENAI_API_KEY=SecretStr(OPENAI_KEY))
    assert get_provider(Rt(configured, http)) is not None  # type: ignore[arg-type]
    assert get_provider(Rt(configured, http), {"local_only": True}) is None  # type: ignore[arg-type]
    assert get_provider(Rt(configured, http), {"enabled": False}) is None  # type: ignore[arg-type]
    server_local = settings(LLM_PROVIDER="openai", OPENAI_API_KEY=OPENAI_KEY, AI_LOCAL_ONLY="true")
    assert get_provider(Rt(server_local, http)) is None  # type: ignore[arg-type]
    assert get_provider(Rt(settings(LLM_PROVIDER="openai"), http)) is None  # type: ignore[arg-type]
    assert get_provider(Rt(settings(LLM_PROVIDER="anthropic"), http)) is None  # type: ignore[arg-type]
    assert get_provider(Rt(settings(OPENAI_API_KEY=OPENAI_KEY), http)) is None  # type: ignore[arg-type]


def providers(http: httpx.AsyncClient) -> list[Any]:
    return [
        OpenAIProvider(http, OpenAIEndpoint(api_key=OPENAI_KEY), "gpt-4o-mini"),
        AnthropicProvider(http, api_key=ANTHROPIC_KEY, model="claude-3-5-haiku-latest"),
    ]


@pytest.mark.parametrize("index", [0, 1], ids=["openai", "anthropic"])
async def test_timeout_is_ai007(fake: FakeAI, index: int):
    fake.fail = "timeout"
    async with fake.client() as http:
        with pytest.raises(AIProviderError) as caught:
            await providers(http)[index].complete_json(system="s", prompt="p", schema=Summary)
    assert (caught.value.code, caught.value.reason, caught.value.transient) == (
        "AI007",
        "timeout",
        True,
    )
    assert caught.value.to_api_error().status == 504


async def test_overall_deadline_bounds_a_slow_server():
    async def slow(request: httpx.Request) -> httpx.Response:
        import asyncio

        await asyncio.sleep(5)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as http:
        provider = OpenAIProvider(http, OpenAIEndpoint(api_key=OPENAI_KEY), "m")
        with pytest.raises(AIProviderError) as caught:
            await provider.complete_json(system="s", prompt="p", schema=Summary, timeout=0.05)
    assert caught.value.code == "AI007"


@pytest.mark.parametrize("index", [0, 1], ids=["openai", "anthropic"])
async def test_429_is_ai003_with_retry_after(fake: FakeAI, index: int):
    fake.fail = "429"
    async with fake.client() as http:
        with pytest.raises(AIProviderError) as caught:
            await providers(http)[index].complete_json(system="s", prompt="p", schema=Summary)
    error = caught.value
    assert (error.code, error.retry_after, error.transient) == ("AI003", 17, True)
    api_error = error.to_api_error()
    assert (api_error.status, api_error.headers["Retry-After"]) == (429, "17")


@pytest.mark.parametrize("index", [0, 1], ids=["openai", "anthropic"])
async def test_500_is_ai001_transient(fake: FakeAI, index: int):
    fake.fail = "500"
    async with fake.client() as http:
        with pytest.raises(AIProviderError) as caught:
            await providers(http)[index].complete_json(system="s", prompt="p", schema=Summary)
    assert (caught.value.code, caught.value.status, caught.value.transient) == ("AI001", 500, True)


async def test_503_is_ai002(fake: FakeAI):
    fake.fail = "503"
    async with fake.client() as http:
        with pytest.raises(AIProviderError) as caught:
            await providers(http)[0].complete_json(system="s", prompt="p", schema=Summary)
    assert caught.value.code == "AI002"


async def test_wrong_key_is_ai001_not_transient():
    fake = FakeAI(reply=REPLY)
    async with fake.client() as http:
        provider = OpenAIProvider(http, OpenAIEndpoint(api_key="sk-wrong"), "gpt-4o-mini")
        with pytest.raises(AIProviderError) as caught:
            await provider.complete_json(system="s", prompt="p", schema=Summary)
    assert (caught.value.code, caught.value.transient, caught.value.status) == ("AI001", False, 401)
    assert "Incorrect API key" in caught.value.message


@pytest.mark.parametrize("index", [0, 1], ids=["openai", "anthropic"])
async def test_malformed_output_is_invalid(fake: FakeAI, index: int):
    fake.fail = "malformed"
    async with fake.client() as http:
        with pytest.raises(InvalidOutput):
            await providers(http)[index].complete_json(system="s", prompt="p", schema=Summary)


async def test_output_violating_the_model_is_invalid():
    # A compatible server that ignores the schema: pydantic still refuses the answer.
    def handler(request: httpx.Request) -> httpx.Response:
        answer = {
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": json.dumps({"summary": 3})},
                    "finish_reason": "stop",
                }
            ]
        }
        return httpx.Response(200, json=answer)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        provider = OpenAIProvider(http, OpenAIEndpoint(base_url="http://vllm.test/v1"), "m")
        with pytest.raises(InvalidOutput):
            await provider.complete_json(system="s", prompt="p", schema=Summary)


async def test_openai_embeddings_are_ordered_normalised_and_384_wide(fake: FakeAI):
    texts = [f"text {'x' * i}" for i in range(70)]
    async with fake.client() as http:
        embedder = OpenAIEmbedder(
            http, OpenAIEndpoint(api_key=OPENAI_KEY), "text-embedding-3-small"
        )
        vectors = await embedder.embed(texts)
    assert vectors.shape == (70, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert [len(b["input"]) for b in fake.bodies] == [64, 6]
    assert fake.bodies[0]["dimensions"] == 384
    # Rows follow the inputs even though the server listed them in reverse.
    expected = np.array([np.sin(len(texts[5]) + i) for i in range(384)], dtype=np.float32)
    assert np.allclose(vectors[5], expected / np.linalg.norm(expected), atol=1e-5)


async def test_azure_embeddings(fake: FakeAI):
    endpoint = OpenAIEndpoint(
        base_url="https://contoso.openai.azure.com", api_key=AZURE_KEY, api_version="2024-10-21"
    )
    async with fake.client() as http:
        vectors = await OpenAIEmbedder(http, endpoint, "embed-small").embed(["a", "b"])
    assert vectors.shape == (2, 384)
    assert fake.requests[0].url.path == "/openai/deployments/embed-small/embeddings"
