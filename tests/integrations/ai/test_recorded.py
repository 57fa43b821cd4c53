"""The fakes answer in the shape of the providers' documented responses, and the clients parse
those documented bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mailmind.integrations.ai.anthropic import AnthropicProvider, parse_message
from mailmind.integrations.ai.errors import InvalidOutput
from mailmind.integrations.ai.openai import (
    OpenAIEmbedder,
    OpenAIEndpoint,
    OpenAIProvider,
    parse_chat_completion,
    parse_embeddings,
)
from tests.integrations.ai.fake_providers import ANTHROPIC_KEY, OPENAI_KEY, FakeAI

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / name).read_text())
    return data


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively (lists by their first item; null matches anything)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if value is None:
        return None
    return {bool: "bool", int: "number", float: "number", str: "string"}[type(value)]


def same_shape(actual: Any, expected: Any) -> bool:
    if expected is None or actual is None:
        return True
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and set(actual) == set(expected)
            and all(same_shape(actual[k], expected[k]) for k in expected)
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and (
            not expected or not actual or same_shape(actual[0], expected[0])
        )
    return bool(actual == expected)


class Weather(BaseModel):
    location: str
    unit: str


class Greeting(BaseModel):
    text: str


async def test_fake_chat_completion_has_the_documented_shape():
    fake = FakeAI(reply={"text": "hi"})
    async with fake.client() as http:
        provider = OpenAIProvider(http, OpenAIEndpoint(api_key=OPENAI_KEY), "gpt-4o-mini")
        await provider.complete_json(system="s", prompt="p", schema=Greeting)
        response = await http.post(
            "https://api.openai.com/v1/chat/completions",
            json=fake.bodies[0],
            headers={"Authorization": f"Bearer {OPENAI_KEY}"},
        )
    assert same_shape(shape(response.json()), shape(recorded("openai_chat_completion.json")))


def test_documented_chat_completion_is_parsed():
    body = recorded("openai_chat_completion.json")
    # The documented answer is plain text: as structured output it is rejected, not guessed at.
    with pytest.raises(InvalidOutput):
        parse_chat_completion(body, Greeting)
    body["choices"][0]["message"]["content"] = json.dumps({"text": "Hello!"})
    output, usage = parse_chat_completion(body, Greeting)
    assert output == {"text": "Hello!"}
    assert (usage.input_tokens, usage.output_tokens) == (19, 10)


def test_documented_refusal_field_is_an_invalid_output():
    body = recorded("openai_chat_completion.json")
    body["choices"][0]["message"].update(content=None, refusal="I can't help with that.")
    with pytest.raises(InvalidOutput, match="refused"):
        parse_chat_completion(body, Greeting)


async def test_fake_embeddings_have_the_documented_shape():
    fake = FakeAI()
    async with fake.client() as http:
        embedder = OpenAIEmbedder(
            http, OpenAIEndpoint(api_key=OPENAI_KEY), "text-embedding-3-small"
        )
        await embedder.embed(["a"])
        response = await http.post(
            "https://api.openai.com/v1/embeddings",
            json=fake.bodies[0],
            headers={"Authorization": f"Bearer {OPENAI_KEY}"},
        )
    assert same_shape(shape(response.json()), shape(recorded("openai_embeddings.json")))


def test_documented_embeddings_are_parsed_and_normalised():
    vectors = parse_embeddings(recorded("openai_embeddings.json"), 1)
    assert vectors.shape == (1, 3)
    assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-6
    assert vectors[0][0] > 0 > vectors[0][1]


async def test_fake_anthropic_message_has_the_documented_shape():
    fake = FakeAI(reply={"text": "hi"})
    async with fake.client() as http:
        provider = AnthropicProvider(http, api_key=ANTHROPIC_KEY, model="claude-3-5-haiku-latest")
        await provider.complete_json(system="s", prompt="p", schema=Greeting)
        response = await http.post(
            "https://api.anthropic.com/v1/messages",
            json=fake.bodies[0],
            headers={"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"},
        )
    answer = response.json()
    documented = recorded("anthropic_message.json")
    assert set(answer) == set(documented)
    assert same_shape(shape(answer["usage"]), shape(documented["usage"]))
    # Its tool_use block is shaped like the documented one.
    documented_block = recorded("anthropic_tool_use.json")["content"][1]
    assert set(answer["content"][0]) == set(documented_block)
    assert answer["stop_reason"] == recorded("anthropic_tool_use.json")["stop_reason"]


def test_documented_tool_use_answer_is_parsed():
    output, _ = parse_message(recorded("anthropic_tool_use.json"), Weather, tool_name="get_weather")
    assert output == {"location": "San Francisco, CA", "unit": "celsius"}


def test_documented_text_answer_is_parsed_as_text():
    body = recorded("anthropic_message.json")
    with pytest.raises(InvalidOutput):
        parse_message(body, Greeting)
    body["content"][0]["text"] = '```json\n{"text": "Hi! My name is Claude."}\n```'
    output, usage = parse_message(body, Greeting)
    assert output == {"text": "Hi! My name is Claude."}
    assert (usage.input_tokens, usage.output_tokens) == (2095, 503)
