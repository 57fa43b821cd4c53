"""The reader and changes to one message: detail, PATCH, DELETE, snooze, tags, raw and
attachments (PRODUCT_SPEC §2.4, §3)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import select

from mailmind.kit.time import utcnow
from mailmind.message.tasks import wake_snoozed
from mailmind.models import AIFeedback, AIResult, Message, Notification
from tests.api.conftest import make_box, queued_jobs
from tests.conftest import assert_error
from tests.factories import (
    create_account,
    create_attachment,
    create_folder,
    create_message,
    create_tag,
)


async def _reload(runtime, message_id) -> Message:
    async with runtime.db.session() as s:
        message = await s.get(Message, message_id)
        assert message is not None
        return message


async def test_detail_has_body_attachments_and_ai_fields(client, runtime, box):
    async with runtime.db.session() as s:
        m = await create_message(
            s,
            box.account,
            box.inbox,
            body_html='<p>Hi <img data-cid="logo@x"></p>',
            cc_addrs=[{"name": "", "address": "cc@example.com"}],
            priority=80,
            priority_band="high",
        )
        logo = await create_attachment(
            s, m, filename="logo.png", content_type="image/png", content_id="logo@x"
        )
        s.add_all(
            [
                AIResult(
                    message_id=m.id,
                    user_id=box.user.id,
                    feature="summary",
                    output={
                        "summary": "Ada says hi.",
                        "action_items": [{"text": "Reply", "due_date": None}],
                    },
                    provider="local",
                    model="extractive",
                ),
                AIResult(
                    message_id=m.id,
                    user_id=box.user.id,
                    feature="priority",
                    output={"reasons": [{"code": "vip_sender", "text": "VIP", "weight": 30}]},
                    provider="local",
                    model="features",
                ),
            ]
        )
    response = await client.get(f"/api/emails/{m.id}", headers=box.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cc"] == [{"name": "", "address": "cc@example.com"}]
    assert body["summary"] == "Ada says hi."
    assert body["action_items"][0]["text"] == "Reply"
    assert body["priority_reasons"] == [{"code": "vip_sender", "text": "VIP", "weight": 30.0}]
    url = f"/api/emails/{m.id}/attachments/{logo.id}"
    assert body["attachments"][0]["url"] == url
    assert f'src="{url}"' in body["body_html"]


async def test_detail_without_ai_results_has_empty_ai_fields(client, runtime, box):
    async with runtime.db.session() as s:
        m = await create_message(s, box.account, box.inbox)
    body = (await client.get(f"/api/emails/{m.id}", headers=box.headers)).json()
    assert (body["summary"], body["action_items"], body["priority_reasons"]) == (None, [], [])


async def test_another_users_message_is_res001_everywhere(client, runtime, box, other):
    async with runtime.db.session() as s:
        m = await create_message(s, other.account, other.inbox, raw=b"Subject: x\r\n\r\nx")
        att = await create_attachment(s, m)
    for method, path, body in [
        ("GET", f"/api/emails/{m.id}", None),
        ("PATCH", f"/api/emails/{m.id}", {"is_read": True}),
        ("DELETE", f"/api/emails/{m.id}", None),
        (
            "POST",
            f"/api/emails/{m.id}/snooze",
            {"until": (utcnow() + timedelta(hours=1)).isoformat()},
        ),
        ("DELETE", f"/api/emails/{m.id}/snooze", None),
        ("POST", f"/api/emails/{m.id}/tags", {"add": ["x"]}),
        ("GET", f"/api/emails/{m.id}/raw", None),
        ("GET", f"/api/emails/{m.id}/attachments/{att.id}", None),
    ]:
        response = await client.request(method, path, json=body, headers=box.headers)
        assert_error(response, 404, "RES001")
    fresh = await _reload(runtime, m.id)
    assert not fresh.is_read and fresh.deleted_at is None


async def test_patch_flags_queue_a_write_back_and_publish(client, runtime, box):
    async with runtime.db.session() as s:
        m = await create_message(s, box.account, box.inbox, uid=7, uidvalidity=1)
    events = []

    async def listen():
        async for _, message in runtime.store.subscribe("mailmind:realtime"):
            events.append(json.loads(message))
            return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.2)
    response = await client.patch(
        f"/api/emails/{m.id}", json={"is_read": True, "is_starred": True}, headers=box.headers
    )
    assert response.status_code == 200, response.text
    assert (response.json()["is_read"], response.json()["is_starred"]) == (True, True)
    await asyncio.wait_for(listener, 5)
    assert events[0]["type"] == "email_updated"
    assert events[0]["data"] == {
        "email_ids": [str(m.id)],
        "changes": {"is_read": True, "is_starred": True},
    }
    (job,) = await queued_jobs(runtime)
    assert job["lock"] == f"account:{box.account.id}"
    assert job["args"]["op"] == "flags" and job["args"]["message_ids"] == [str(m.id)]


async def test_local_accounts_change_without_write_back(client, runtime):
    local = await make_box(runtime, client, kind="local")
    async with runtime.db.session() as s:
        m = await create_message(s, local.account, local.inbox)
    response = await client.patch(
        f"/api/emails/{m.id}", json={"is_read": True}, headers=local.headers
    )
    assert response.status_code == 200
    assert await queued_jobs(runtime) == []


async def test_move_within_the_account_clears_the_uid(client, runtime, box):
    async with runtime.db.session() as s:
        project = await create_folder(s, box.account, name="Project")
        m = await create_message(s, box.account, box.inbox, uid=5, uidvalidity=9)
    response = await client.patch(
        f"/api/emails/{m.id}", json={"folder_id": str(project.id)}, headers=box.headers
    )
    assert response.json()["folder_id"] == str(project.id)
    fresh = await _reload(runtime, m.id)
    assert (fresh.uid, fresh.uidvalidity) == (None, None)
    (job,) = await queued_jobs(runtime)
    assert job["args"]["op"] == "move"
    assert job["args"]["items"] == [
        {"id": str(m.id), "from_folder_id": str(box.inbox.id), "uid": 5, "uidvalidity": 9}
    ]


async def test_move_to_another_account_or_unknown_folder_is_email007(client, runtime, box, other):
    async with runtime.db.session() as s:
        second = await create_account(s, box.user)
        elsewhere = await create_folder(s, second, role="inbox")
        m = await create_message(s, box.account, box.inbox)
    for folder_id in (elsewhere.id, other.inbox.id):
        response = await client.patch(
            f"/api/emails/{m.id}", json={"folder_id": str(folder_id)}, headers=box.headers
        )
        assert_error(response, 400, "EMAIL007")
    assert (await _reload(runtime, m.id)).folder_id == box.inbox.id


async def test_category_and_priority_overrides_are_feedback(client, runtime, box):
    async with runtime.db.session() as s:
        m = await create_message(
            s,
            box.account,
            box.inbox,
            category="promotions",
            priority=20,
            priority_band="low",
            needs_review=True,
        )
    response = await client.patch(
        f"/api/emails/{m.id}", json={"category": "work", "priority": 85}, headers=box.headers
    )
    body = response.json()
    assert (body["category"], body["needs_review"]) == ("work", False)
    assert (body["priority"], body["priority_band"]) == (85, "high")
    assert body["priority_reasons"][0]["code"] == "user_override"
    async with runtime.db.session() as s:
        rows = (await s.scalars(select(AIFeedback).order_by(AIFeedback.feature))).all()
    assert [(r.feature, r.old_value, r.new_value) for r in rows] == [
        ("classify", "promotions", "work"),
        ("priority", 20, 85),
    ]
    assert_error(
        await client.patch(f"/api/emails/{m.id}", json={"category": "nope"}, headers=box.headers),
        400,
        "VAL002",
    )
    assert_error(
        await client.patch(f"/api/emails/{m.id}", json={"priority": 101}, headers=box.headers),
        400,
        "VAL003",
    )


async def test_delete_moves_to_trash_then_deletes_for_good(client, runtime, box):
    async with runtime.db.session() as s:
        m = await create_message(s, box.account, box.inbox, uid=3, uidvalidity=1)
    response = await client.delete(f"/api/emails/{m.id}", headers=box.headers)
    assert response.status_code == 204
    assert (await _reload(runtime, m.id)).folder_id == box.folders["trash"].id
    response = await client.delete(f"/api/emails/{m.id}", headers=box.headers)
    assert response.status_code == 204
    assert (await _reload(runtime, m.id)).deleted_at is not None
    assert_error(await client.get(f"/api/emails/{m.id}", headers=box.headers), 410, "RES002")
    assert_error(await client.delete(f"/api/emails/{m.id}", headers=box.headers), 410, "RES002")
    ops = [job["args"]["op"] for job in await queued_jobs(runtime)]
    assert ops == ["move", "expunge"]


async def test_delete_creates_a_trash_folder_when_the_account_has_none(client, runtime):
    bare = await make_box(runtime, client)
    async with runtime.db.session() as s:
        await s.delete(await s.get(type(bare.folders["trash"]), bare.folders["trash"].id))
        m = await create_message(s, bare.account, bare.inbox)
    assert (await client.delete(f"/api/emails/{m.id}", headers=bare.headers)).status_code == 204
    folders = (await client.get("/api/folders", headers=bare.headers)).json()
    trash = next(f for f in folders if f["role"] == "trash")
    assert (await _reload(runtime, m.id)).folder_id is not None
    assert str((await _reload(runtime, m.id)).folder_id) == trash["id"]
    ops = [job["args"]["op"] for job in await queued_jobs(runtime)]
    assert ops == ["folder_create", "move"]


async def test_snooze_hides_until_due_then_wakes_unread_with_a_notification(client, runtime, box):
    async with runtime.db.session() as s:
        m = await create_message(s, box.account, box.inbox, is_read=True)
    until = utcnow() + timedelta(hours=3)
    response = await client.post(
        f"/api/emails/{m.id}/snooze", json={"until": until.isoformat()}, headers=box.headers
    )
    assert response.status_code == 200, response.text
    listed = (await client.get("/api/emails", headers=box.headers)).json()["items"]
    assert listed == []
    async with runtime.db.session() as s:
        (await s.get(Message, m.id)).snoozed_until = utcnow() - timedelta(seconds=1)
    await wake_snoozed(runtime)
    fresh = await _reload(runtime, m.id)
    assert fresh.snoozed_until is None and fresh.is_read is False
    async with runtime.db.session() as s:
        (note,) = (await s.scalars(select(Notification))).all()
    assert (note.type, note.message_id) == ("snooze_due", m.id)
    listed = (await client.get("/api/emails", headers=box.headers)).json()["items"]
    assert [item["id"] for item in listed] == [str(m.id)]


async def test_snooze_limits_and_unsnooze(client, runtime, box):
    async with runtime.db.session() as s:
        m = await create_message(s, box.account, box.inbox)
    for until in (utcnow() - timedelta(minutes=1), utcnow() + timedelta(days=400)):
        response = await client.post(
            f"/api/emails/{m.id}/snooze", json={"until": until.isoformat()}, headers=box.headers
        )
        assert_error(response, 400, "VAL003")
    until = (utcnow() + timedelta(days=2)).isoformat()
    await client.post(f"/api/emails/{m.id}/snooze", json={"until": until}, headers=box.headers)
    response = await client.delete(f"/api/emails/{m.id}/snooze", headers=box.headers)
    assert response.json()["snoozed_until"] is None


async def test_tags_add_creates_and_remove_of_ai_tag_is_feedback(client, runtime, box):
    async with runtime.db.session() as s:
        ai = await create_tag(s, box.user, "Finance", source="ai")
        m = await create_message(s, box.account, box.inbox, tags=[ai])
    response = await client.post(
        f"/api/emails/{m.id}/tags",
        json={"add": ["Work/Clients", "work/clients"], "remove": ["finance"]},
        headers=box.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"tags": ["Work/Clients"]}
    tags = {t["path"] for t in (await client.get("/api/tags", headers=box.headers)).json()}
    assert {"Work", "Work/Clients", "Finance"} <= tags
    async with runtime.db.session() as s:
        (fb,) = (await s.scalars(select(AIFeedback))).all()
    assert (fb.feature, fb.old_value, fb.new_value) == ("tags", "Finance", None)
    bad = await client.post(f"/api/emails/{m.id}/tags", json={"add": ["a//b"]}, headers=box.headers)
    assert_error(bad, 400, "VAL002")


async def test_raw_source_is_the_original_message(client, runtime, box):
    raw = b"From: a@example.com\r\nSubject: Raw\r\n\r\nBody\r\n"
    async with runtime.db.session() as s:
        m = await create_message(s, box.account, box.inbox, raw=raw)
        bare = await create_message(s, box.account, box.inbox)
    response = await client.get(f"/api/emails/{m.id}/raw", headers=box.headers)
    assert response.content == raw
    assert response.headers["content-type"].startswith("message/rfc822")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert_error(await client.get(f"/api/emails/{bare.id}/raw", headers=box.headers), 404, "RES001")


async def test_attachments_download_safely(client, runtime, box):
    async with runtime.db.session() as s:
        m = await create_message(s, box.account, box.inbox)
        page = await create_attachment(
            s,
            m,
            filename="page.html",
            content=b"<script>alert(1)</script>",
            content_type="text/html",
        )
        photo = await create_attachment(
            s,
            m,
            filename="Foto ä.png",
            content=b"\x89PNG",
            content_type="image/png",
            content_id="photo@x",
            is_inline=True,
        )
    response = await client.get(f"/api/emails/{m.id}/attachments/{page.id}", headers=box.headers)
    assert response.content == b"<script>alert(1)</script>"
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    response = await client.get(f"/api/emails/{m.id}/attachments/{photo.id}", headers=box.headers)
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"].startswith("inline;")
    assert "filename*=UTF-8''Foto%20%C3%A4.png" in response.headers["content-disposition"]
    response = await client.get(
        f"/api/emails/{m.id}/attachments/{photo.id}",
        params={"download": "true"},
        headers=box.headers,
    )
    assert response.headers["content-disposition"].startswith("attachment;")
    response = await client.get(f"/api/emails/{m.id}/cid/photo@x", headers=box.headers)
    assert response.content == b"\x89PNG"
    assert_error(
        await client.get(f"/api/emails/{m.id}/cid/missing@x", headers=box.headers), 404, "RES001"
    )
    async with runtime.db.session() as s:
        elsewhere = await create_message(s, box.account, box.inbox)
    assert_error(
        await client.get(f"/api/emails/{elsewhere.id}/attachments/{page.id}", headers=box.headers),
        404,
        "RES001",
    )
