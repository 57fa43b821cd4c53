"""On-demand summaries and reply suggestions: remote when allowed, local otherwise, with the
exact text sent kept in the decision log."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from mailmind.metrics import AI_REMOTE_CALLS
from mailmind.models import AIDecision, AIResult
from tests.assistant.conftest import REPLIES, SUMMARY, Env, make_env, set_ai
from tests.conftest import assert_error
from tests.factories import create_message, create_thread

PII_BODY = (
    "Hello Bob,\n\nplease sign the contract by Friday and send it back. You can reach me at "
    "+49 171 2345678 or ada.private@example.org. Pay to IBAN DE89 3704 0044 0532 0130 00, "
    "card 4111 1111 1111 1111.\n\nAda"
)


async def message(env: Env, **kw: Any) -> Any:
    async with env.runtime.db.session() as session:
        kw.setdefault("body_text", PII_BODY)
        kw.setdefault("subject", "Contract")
        return await create_message(session, env.account, env.inbox, **kw)


async def summarize(env: Env, email_id: uuid.UUID, style: str = "short") -> Any:
    return await env.client.post(
        "/api/ai/summarize", json={"email_id": str(email_id), "style": style}, headers=env.headers
    )


def counted(provider: str, feature: str, outcome: str) -> float:
    value: float = AI_REMOTE_CALLS.labels(
        provider=provider, feature=feature, outcome=outcome
    )._value.get()
    return value


async def test_remote_summary_sends_redacted_text_and_records_it(env: Env):
    mail = await message(env)
    before = counted("openai", "summary", "ok")
    response = await summarize(env, mail.id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == "remote" and body["fallback_reason"] is None
    assert body["summary"] == SUMMARY["summary"]
    assert body["action_items"] == [
        {"text": "Sign the contract", "due_date": "2030-05-17", "owner": None, "done": False}
    ]
    assert counted("openai", "summary", "ok") == before + 1

    (sent,) = env.fake.bodies
    text = env.fake.sent_text()
    for secret in ("2345678", "ada.private@example.org", "DE89", "4111", "ada@example.com"):
        assert secret not in text
    prompt = sent["messages"][1]["content"]
    payload = json.loads(prompt)
    assert "[PHONE]" in payload["messages"][0]["body"]
    assert "[IBAN]" in payload["messages"][0]["body"] and "[CARD]" in payload["messages"][0]["body"]
    assert payload["messages"][0]["sender"] == "Ada Lovelace (example.com)"

    decisions = await env.client.get(f"/api/emails/{mail.id}/ai-decisions", headers=env.headers)
    assert decisions.status_code == 200
    (decision,) = decisions.json()["items"]
    assert decision["feature"] == "summary" and decision["remote"] is True
    assert decision["provider"] == "openai" and decision["model"] == "gpt-4o-mini"
    # The record is exactly what was sent.
    assert decision["sent_payload"]["prompt"] == prompt
    assert decision["sent_payload"]["system"] == sent["messages"][0]["content"]

    # The reader shows the stored summary; asking again is answered from the cache.
    detail = (await env.client.get(f"/api/emails/{mail.id}", headers=env.headers)).json()
    assert detail["summary"] == SUMMARY["summary"]
    again = await summarize(env, mail.id)
    assert again.json()["mode"] == "remote" and len(env.fake.requests) == 1


async def test_thread_summary_is_oldest_first_without_quotes(env: Env):
    async with env.runtime.db.session() as session:
        thread = await create_thread(session, env.account, subject="Plan")
        from datetime import timedelta

        from mailmind.kit.time import utcnow

        now = utcnow()
        for index, text in enumerate(["First idea", "Second idea", "Third idea"]):
            created = await create_message(
                session,
                env.account,
                env.inbox,
                subject=f"Plan {index}",
                thread=thread,
                date=now - timedelta(hours=3 - index),
                body_text=text,
            )
            created.body_text = f"{text}\n\n> quoted older text"
        await session.flush()
    response = await env.client.post(
        "/api/ai/summarize",
        json={"thread_id": str(thread.id), "style": "bullets"},
        headers=env.headers,
    )
    assert response.status_code == 200, response.text
    payload = json.loads(env.fake.bodies[0]["messages"][1]["content"])
    assert [m["body"] for m in payload["messages"]] == ["First idea", "Second idea", "Third idea"]
    assert "quoted" not in env.fake.sent_text()


async def test_summarize_needs_exactly_one_target(env: Env):
    response = await env.client.post("/api/ai/summarize", json={}, headers=env.headers)
    assert_error(response, 400, "VAL002")


async def test_malformed_output_falls_back_to_local(env: Env):
    env.fake.fail = "malformed"
    mail = await message(env, body_text="Please send the report by Friday. " * 5)
    response = await summarize(env, mail.id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == "local" and body["fallback_reason"] == "invalid_output"
    assert body["summary"]
    async with env.runtime.db.session() as session:
        decision = await session.scalar(select(AIDecision).where(AIDecision.message_id == mail.id))
    assert decision is not None and decision.remote is False
    # The attempt did send text; the record says so.
    assert decision.sent_payload is not None
    assert decision.sent_payload["outcome"] == "invalid_output"


@pytest.mark.parametrize(
    ("fail", "status", "code"),
    [
        ("500", 500, "AI001"),
        ("timeout", 504, "AI007"),
        ("429", 429, "AI003"),
        ("503", 503, "AI002"),
    ],
)
async def test_provider_errors_surface_when_remote_is_required(
    env: Env, fail: str, status: int, code: str
):
    await set_ai(env, features={"summary": {"provider": "remote"}})
    env.fake.fail = fail  # type: ignore[assignment]
    mail = await message(env)
    error = assert_error(await summarize(env, mail.id), status, code)
    if code == "AI003":
        assert error["details"]["retryAfter"] == 17


@pytest.mark.parametrize("fail", ["500", "timeout", "429"])
async def test_provider_errors_fall_back_under_auto(env: Env, fail: str):
    env.fake.fail = fail  # type: ignore[assignment]
    mail = await message(env)
    body = (await summarize(env, mail.id)).json()
    assert body["mode"] == "local"
    assert (
        body["fallback_reason"] == {"500": "api", "timeout": "timeout", "429": "rate_limit"}[fail]
    )


async def test_quota_rate003_for_remote_and_local_fallback_for_auto(runtime, fake):
    from pydantic import SecretStr

    from tests.integrations.ai.fake_providers import OPENAI_KEY

    async for env in make_env(
        runtime,
        fake,
        llm_provider="openai",
        openai_api_key=SecretStr(OPENAI_KEY),
        rate_limit_ai="2/h",
    ):
        mails = [await message(env, subject=f"Contract {i}") for i in range(4)]
        for mail in mails[:2]:
            assert (await summarize(env, mail.id)).json()["mode"] == "remote"
        body = (await summarize(env, mails[2].id)).json()
        assert (body["mode"], body["fallback_reason"]) == ("local", "quota")
        await set_ai(env, features={"summary": {"provider": "remote"}})
        response = await summarize(env, mails[3].id)
        error = assert_error(response, 429, "RATE003")
        assert int(response.headers["Retry-After"]) > 0
        assert error["details"]["retryAfter"] > 0
        assert len(env.fake.requests) == 2


async def test_user_local_only_makes_zero_requests(env: Env):
    await set_ai(env, local_only=True, features={"summary": {"provider": "remote"}})
    mail = await message(env)
    summary = await summarize(env, mail.id)
    replies = await env.client.get(
        "/api/ai/suggestions", params={"email_id": str(mail.id)}, headers=env.headers
    )
    assert summary.status_code == 200 and replies.status_code == 200
    assert summary.json()["mode"] == "local" and summary.json()["fallback_reason"] == "local_only"
    assert replies.json()["mode"] == "local" and replies.json()["suggestions"]
    assert env.fake.requests == []


async def test_server_local_only_makes_zero_requests(runtime, fake):
    from pydantic import SecretStr

    from tests.integrations.ai.fake_providers import OPENAI_KEY

    async for env in make_env(
        runtime,
        fake,
        llm_provider="openai",
        openai_api_key=SecretStr(OPENAI_KEY),
        ai_local_only=True,
    ):
        await set_ai(env, features={"summary": {"provider": "remote"}})
        mail = await message(env)
        body = (await summarize(env, mail.id)).json()
        assert (body["mode"], body["fallback_reason"]) == ("local", "server_local_only")
        assert env.fake.requests == []


async def test_local_preference_makes_zero_requests(env: Env):
    await set_ai(env, features={"suggestions": {"provider": "local"}})
    mail = await message(env, body_text="Can you join the meeting on Monday at 10:00?")
    response = await env.client.get(
        "/api/ai/suggestions",
        params={"email_id": str(mail.id), "tone": "friendly"},
        headers=env.headers,
    )
    body = response.json()
    assert body["mode"] == "local" and body["fallback_reason"] is None
    assert 1 <= len(body["suggestions"]) <= 3
    assert all(s["tone"] == "friendly" and s["language"] == "en" for s in body["suggestions"])
    assert env.fake.requests == []


async def test_disabled_feature_is_not_computed(env: Env):
    await set_ai(env, features={"summary": {"enabled": False}})
    mail = await message(env)
    assert_error(await summarize(env, mail.id), 503, "AI002")
    assert env.fake.requests == []
    async with env.runtime.db.session() as session:
        assert await session.scalar(select(AIResult).where(AIResult.message_id == mail.id)) is None


async def test_remote_suggestions_through_anthropic(anthropic_env: Env):
    env = anthropic_env
    env.fake.reply = REPLIES
    mail = await message(
        env, body_text="Könnten Sie mir den Vertrag bis Freitag schicken? Vielen Dank und Grüße."
    )
    response = await env.client.get(
        "/api/ai/suggestions",
        params={"email_id": str(mail.id), "tone": "formal"},
        headers=env.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == "remote"
    assert body["suggestions"] == [
        {
            "id": "remote-1",
            "text": REPLIES["suggestions"][0]["text"],
            "tone": "formal",
            "language": "de",
        }
    ]
    (sent,) = env.fake.bodies
    assert "German" in sent["system"] and "formal" in sent["system"]


async def test_suggestions_for_another_users_mail_are_res001(env: Env, runtime, fake):
    mail = await message(env)
    from pydantic import SecretStr

    from tests.integrations.ai.fake_providers import OPENAI_KEY

    async for other in make_env(
        runtime, fake, llm_provider="openai", openai_api_key=SecretStr(OPENAI_KEY)
    ):
        response = await other.client.get(
            "/api/ai/suggestions", params={"email_id": str(mail.id)}, headers=other.headers
        )
        assert_error(response, 404, "RES001")
        assert_error(await summarize(other, mail.id), 404, "RES001")
    assert env.fake.requests == []
