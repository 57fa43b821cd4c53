"""Classification and tags on demand, the decision log and learned corrections."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from mailmind.models import AIFeedback, Message, MessageTag, Tag
from tests.assistant.conftest import Env, make_env
from tests.conftest import assert_error
from tests.factories import create_message


async def message(env: Env, **kw: Any) -> Any:
    async with env.runtime.db.session() as session:
        return await create_message(session, env.account, env.inbox, **kw)


async def feedback(env: Env, mail: Any, feature: str = "classify", **values: Any) -> AIFeedback:
    async with env.runtime.db.session() as session:
        row = AIFeedback(
            user_id=env.user.id,
            message_id=mail.id,
            feature=feature,
            old_value=values.get("old", "promotions"),
            new_value=values.get("new", "work"),
            sender_address=mail.sender_address,
        )
        session.add(row)
        await session.flush()
        return row


async def test_decisions_are_only_the_owners(env: Env, runtime, fake):
    mail = await message(env, body_text="Please review the budget by Friday. " * 40)
    response = await env.client.post(
        "/api/ai/summarize", json={"email_id": str(mail.id)}, headers=env.headers
    )
    assert response.status_code == 200
    own = await env.client.get(f"/api/emails/{mail.id}/ai-decisions", headers=env.headers)
    assert own.status_code == 200 and len(own.json()["items"]) == 1
    async for other in make_env(runtime, fake):
        response = await other.client.get(
            f"/api/emails/{mail.id}/ai-decisions", headers=other.headers
        )
        assert_error(response, 404, "RES001")
        missing = await other.client.get(
            f"/api/emails/{uuid.uuid4()}/ai-decisions", headers=other.headers
        )
        assert_error(missing, 404, "RES001")


async def test_feedback_list_and_forget(env: Env, runtime, fake):
    mail = await message(env)
    first = await feedback(env, mail)
    second = await feedback(env, mail, feature="priority", old=30, new=90)
    response = await env.client.get("/api/ai/feedback", headers=env.headers)
    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == [str(second.id), str(first.id)]
    assert body["items"][1] == {
        "id": str(first.id),
        "feature": "classify",
        "email_id": str(mail.id),
        "old": "promotions",
        "new": "work",
        "sender_address": "ada@example.com",
        "created_at": body["items"][1]["created_at"],
    }
    only = await env.client.get(
        "/api/ai/feedback", params={"feature": "priority", "limit": 1}, headers=env.headers
    )
    assert [item["id"] for item in only.json()["items"]] == [str(second.id)]

    page = await env.client.get("/api/ai/feedback", params={"limit": 1}, headers=env.headers)
    cursor = page.json()["next_cursor"]
    rest = await env.client.get(
        "/api/ai/feedback", params={"limit": 1, "cursor": cursor}, headers=env.headers
    )
    assert [item["id"] for item in rest.json()["items"]] == [str(first.id)]
    assert rest.json()["next_cursor"] is None

    async for other in make_env(runtime, fake):
        assert_error(
            await other.client.delete(f"/api/ai/feedback/{first.id}", headers=other.headers),
            404,
            "RES001",
        )
        assert (await other.client.get("/api/ai/feedback", headers=other.headers)).json()[
            "items"
        ] == []

    deleted = await env.client.delete(f"/api/ai/feedback/{first.id}", headers=env.headers)
    assert deleted.status_code == 204
    assert_error(
        await env.client.delete(f"/api/ai/feedback/{first.id}", headers=env.headers), 404, "RES001"
    )
    left = (await env.client.get("/api/ai/feedback", headers=env.headers)).json()["items"]
    assert [item["id"] for item in left] == [str(second.id)]


async def test_bad_cursor_is_val002(env: Env):
    response = await env.client.get(
        "/api/ai/feedback", params={"cursor": "not-a-cursor"}, headers=env.headers
    )
    assert_error(response, 400, "VAL002")


async def test_classify_on_demand_stores_and_reuses(env: Env):
    mail = await message(
        env,
        subject="50% off everything this weekend only",
        sender=("Shop Deals", "deals@shop.example"),
        body_text="Huge sale! Use code SAVE50 at checkout. Unsubscribe here.",
        headers={"List-Unsubscribe": "<https://shop.example/u>"},
    )
    response = await env.client.post(
        "/api/ai/classify", json={"email_ids": [str(mail.id)]}, headers=env.headers
    )
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["email_id"] == str(mail.id)
    assert result["category"] in {
        "promotions",
        "newsletter",
        "notification",
        "spam",
        "work",
        "personal",
    }
    assert 0 <= result["confidence"] <= 1 and result["reasons"]
    async with env.runtime.db.session() as session:
        stored = await session.get(Message, mail.id)
        assert stored is not None and stored.category == result["category"]
    decisions = (
        await env.client.get(f"/api/emails/{mail.id}/ai-decisions", headers=env.headers)
    ).json()["items"]
    assert [d["feature"] for d in decisions] == ["classify"]
    # Without force the stored classification is returned, not recomputed.
    again = await env.client.post(
        "/api/ai/classify", json={"email_ids": [str(mail.id)]}, headers=env.headers
    )
    assert again.json()["results"][0]["category"] == result["category"]
    decisions = (
        await env.client.get(f"/api/emails/{mail.id}/ai-decisions", headers=env.headers)
    ).json()["items"]
    assert len(decisions) == 1
    forced = await env.client.post(
        "/api/ai/classify", json={"email_ids": [str(mail.id)], "force": True}, headers=env.headers
    )
    assert forced.status_code == 200
    decisions = (
        await env.client.get(f"/api/emails/{mail.id}/ai-decisions", headers=env.headers)
    ).json()["items"]
    assert len(decisions) == 2


async def test_classify_limits_and_ownership(env: Env, runtime, fake):
    too_many = [str(uuid.uuid4()) for _ in range(51)]
    assert_error(
        await env.client.post(
            "/api/ai/classify", json={"email_ids": too_many}, headers=env.headers
        ),
        400,
        "VAL003",
    )
    mail = await message(env)
    async for other in make_env(runtime, fake):
        response = await other.client.post(
            "/api/ai/classify", json={"email_ids": [str(mail.id)]}, headers=other.headers
        )
        error = assert_error(response, 404, "RES001")
        assert error["details"]["email_id"] == str(mail.id)


async def test_generate_tags_suggests_and_applies(env: Env):
    body = (
        "Your invoice INV-2024-113 for the cloud hosting plan is attached. The invoice amount "
        "of 49.00 EUR will be charged to your card. Invoice period: May. Hosting invoice."
    )
    mail = await message(env, subject="Invoice INV-2024-113 hosting", body_text=body)
    suggested = await env.client.post(
        "/api/ai/generate-tags", json={"email_ids": [str(mail.id)]}, headers=env.headers
    )
    assert suggested.status_code == 200, suggested.text
    (result,) = suggested.json()["results"]
    assert 1 <= len(result["tags"]) <= 5
    assert all(tag["confidence"] >= 0.6 for tag in result["tags"])
    async with env.runtime.db.session() as session:
        assert (
            await session.scalar(select(MessageTag).where(MessageTag.message_id == mail.id))
        ) is None
    applied = await env.client.post(
        "/api/ai/generate-tags",
        json={"email_ids": [str(mail.id)], "apply": True},
        headers=env.headers,
    )
    assert applied.status_code == 200
    paths = {tag["path"].lower() for tag in applied.json()["results"][0]["tags"]}
    async with env.runtime.db.session() as session:
        rows = (
            await session.execute(
                select(Tag.path, MessageTag.source)
                .join(MessageTag, MessageTag.tag_id == Tag.id)
                .where(MessageTag.message_id == mail.id)
            )
        ).all()
    assert {path.lower() for path, _ in rows} == paths
    assert all(source == "ai" for _, source in rows)
