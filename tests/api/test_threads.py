"""/api/threads: conversations with counts and their messages oldest first."""

from __future__ import annotations

from datetime import timedelta

from mailmind.kit.time import utcnow
from tests.conftest import assert_error
from tests.factories import create_message, create_thread


async def test_thread_list_and_detail(client, runtime, box):
    now = utcnow()
    async with runtime.db.session() as s:
        thread = await create_thread(s, box.account, subject="Plans")
        first = await create_message(
            s, box.account, box.inbox, thread=thread, date=now - timedelta(hours=3), is_read=True
        )
        reply = await create_message(
            s,
            box.account,
            box.folders["sent"],
            thread=thread,
            date=now - timedelta(hours=2),
            is_read=True,
        )
        last = await create_message(
            s, box.account, box.inbox, thread=thread, date=now - timedelta(hours=1)
        )
        lone = await create_message(s, box.account, box.inbox, date=now - timedelta(days=1))
    body = (
        await client.get("/api/threads", params={"folder_role": "inbox"}, headers=box.headers)
    ).json()
    assert [t["id"] for t in body["items"]] == [str(thread.id), str(lone.thread_id)]
    top = body["items"][0]
    assert (top["subject"], top["message_count"], top["unread_count"]) == ("Plans", 3, 1)
    assert top["latest"]["id"] == str(last.id)
    page = (await client.get("/api/threads", params={"limit": 1}, headers=box.headers)).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = (
        await client.get(
            "/api/threads", params={"limit": 1, "cursor": page["next_cursor"]}, headers=box.headers
        )
    ).json()
    assert [t["id"] for t in rest["items"]] == [str(lone.thread_id)]
    detail = (await client.get(f"/api/threads/{thread.id}", headers=box.headers)).json()
    assert [m["id"] for m in detail["messages"]] == [str(first.id), str(reply.id), str(last.id)]
    assert "body_text" in detail["messages"][0]


async def test_another_users_thread_is_res001(client, runtime, box, other):
    async with runtime.db.session() as s:
        m = await create_message(s, other.account, other.inbox)
    assert_error(
        await client.get(f"/api/threads/{m.thread_id}", headers=box.headers), 404, "RES001"
    )
    assert (await client.get("/api/threads", headers=box.headers)).json()["items"] == []
