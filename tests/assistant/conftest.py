"""A signed-in user with a mailbox, an app whose outgoing HTTP goes to the fake AI providers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from mailmind.models import Folder, MailAccount
from mailmind.runtime import Runtime
from tests.conftest import app_for, bearer, create_user, login, make_client, runtime_with
from tests.factories import create_account, create_folder
from tests.integrations.ai.fake_providers import ANTHROPIC_KEY, OPENAI_KEY, FakeAI

SUMMARY = {
    "summary": "Ada needs the signed contract by Friday.",
    "main_points": ["Contract attached", "Deadline Friday"],
    "action_items": [{"text": "Sign the contract", "due_date": "2030-05-17", "owner": None}],
}
REPLIES = {"suggestions": [{"text": "Dear Ada,\n\nI will send it by Friday.\n\nBest regards"}]}


@dataclass
class Env:
    runtime: Runtime
    client: httpx.AsyncClient
    fake: FakeAI
    user: Any
    headers: dict[str, str]
    account: MailAccount
    inbox: Folder


async def make_env(runtime: Runtime, fake: FakeAI, **settings: Any) -> AsyncIterator[Env]:
    http = fake.client()
    rt = runtime_with(runtime, **settings)
    rt.http = http
    async with make_client(app_for(rt)) as client:
        user = await create_user(rt)
        token = (await login(client, user.email))["access_token"]
        async with rt.db.session() as session:
            account = await create_account(session, user)
            inbox = await create_folder(session, account, role="inbox")
        yield Env(rt, client, fake, user, bearer(token), account, inbox)
    await http.aclose()


@pytest.fixture
def fake() -> FakeAI:
    return FakeAI(reply=SUMMARY)


@pytest.fixture
async def env(runtime: Runtime, fake: FakeAI) -> AsyncIterator[Env]:
    """OpenAI configured."""
    async for item in make_env(
        runtime, fake, llm_provider="openai", openai_api_key=SecretStr(OPENAI_KEY)
    ):
        yield item


@pytest.fixture
async def anthropic_env(runtime: Runtime, fake: FakeAI) -> AsyncIterator[Env]:
    async for item in make_env(
        runtime, fake, llm_provider="anthropic", anthropic_api_key=SecretStr(ANTHROPIC_KEY)
    ):
        yield item


async def set_ai(env: Env, **ai: Any) -> None:
    response = await env.client.patch("/api/settings", json={"ai": ai}, headers=env.headers)
    assert response.status_code == 200, response.text
