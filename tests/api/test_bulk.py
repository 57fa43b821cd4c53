"""POST /api/emails/bulk: one action on many messages with per-id results."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from mailmind.kit.time import utcnow
from mailmind.models import Message
from tests.api.conftest import queued_jobs
from tests.conftest import assert_error
from tests.factories import create_account, create_folder, create_message


async def _bulk(client, box, ids, action, **params):
    response = await client.post(
        "/api/emails/bulk",
        json={"email_ids": [str(i) for i in ids], "action": action, "params": params},
        headers=box.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _messages(runtime, ids):
    async with runtime.db.session() as s:
        rows = await s.scalars(select(Message).where(Message.id.in_(ids)))
        return {m.id: m for m in rows}


async def test_partial_success_hides_other_users_mail(client, runtime, box, other):
    async with runtime.db.session() as s:
        mine = await create_message(s, box.account, box.inbox)
        gone = await create_message(s, box.account, box.inbox, deleted_at=utcnow())
        theirs = await create_message(s, other.account, other.inbox)
    missing = uuid.uuid4()
    result = await _bulk(client, box, [mine.id, gone.id, theirs.id, missing], "mark_read")
    assert result["succeeded"] == [str(mine.id)]
    assert result["failed"] == [
        {"id": str(gone.id), "code": "RES002"},
        {"id": str(theirs.id), "code": "RES001"},
        {"id": str(missing), "code": "RES001"},
    ]
    rows = await _messages(runtime, [mine.id, theirs.id])
    assert rows[mine.id].is_read and not rows[theirs.id].is_read


async def test_flag_actions(client, runtime, box):
    async with runtime.db.session() as s:
        a = await create_message(s, box.account, box.inbox)
        b = await create_message(s, box.account, box.inbox, is_read=True)
    await _bulk(client, box, [a.id, b.id], "star")
    await _bulk(client, box, [a.id, b.id], "mark_unread")
    rows = await _messages(runtime, [a.id, b.id])
    assert all(m.is_starred and not m.is_read for m in rows.values())
    await _bulk(client, box, [a.id], "unstar")
    assert not (await _messages(runtime, [a.id]))[a.id].is_starred


async def test_archive_creates_the_archive_folder_per_account(client, runtime, box):
    async with runtime.db.session() as s:
        second = await create_account(s, box.user)
        inbox2 = await create_folder(s, second, role="inbox")
        a = await create_message(s, box.account, box.inbox)
        b = await create_message(s, second, inbox2)
    result = await _bulk(client, box, [a.id, b.id], "archive")
    assert len(result["succeeded"]) == 2
    folders = (await client.get("/api/folders", headers=box.headers)).json()
    archives = {f["account_id"]: f["id"] for f in folders if f["role"] == "archive"}
    rows = await _messages(runtime, [a.id, b.id])
    assert str(rows[a.id].folder_id) == archives[str(box.account.id)]
    assert str(rows[b.id].folder_id) == archives[str(second.id)]


async def test_move_fails_per_id_for_mail_of_another_account(client, runtime, box):
    async with runtime.db.session() as s:
        second = await create_account(s, box.user)
        inbox2 = await create_folder(s, second, role="inbox")
        project = await create_folder(s, box.account, name="Project")
        a = await create_message(s, box.account, box.inbox)
        b = await create_message(s, second, inbox2)
    result = await _bulk(client, box, [a.id, b.id], "move", folder_id=str(project.id))
    assert result["succeeded"] == [str(a.id)]
    assert result["failed"] == [{"id": str(b.id), "code": "EMAIL007"}]


async def test_delete_tag_untag_category_snooze(client, runtime, box):
    async with runtime.db.session() as s:
        a = await create_message(s, box.account, box.inbox)
        b = await create_message(s, box.account, box.inbox)
    await _bulk(client, box, [a.id, b.id], "tag", tags=["Work/Clients"])
    listed = (await client.get("/api/emails", params={"tag": "Work"}, headers=box.headers)).json()
    assert len(listed["items"]) == 2
    await _bulk(client, box, [a.id], "untag", tags=["Work/Clients"])
    listed = (await client.get("/api/emails", params={"tag": "Work"}, headers=box.headers)).json()
    assert [i["id"] for i in listed["items"]] == [str(b.id)]
    await _bulk(client, box, [a.id], "set_category", category="newsletter")
    until = (utcnow() + timedelta(days=1)).isoformat()
    await _bulk(client, box, [b.id], "snooze", until=until)
    await _bulk(client, box, [a.id], "delete")
    rows = await _messages(runtime, [a.id, b.id])
    assert rows[a.id].category == "newsletter"
    assert rows[a.id].folder_id == box.folders["trash"].id
    assert rows[b.id].snoozed_until is not None


async def test_invalid_bulk_requests(client, runtime, box, other):
    async with runtime.db.session() as s:
        a = await create_message(s, box.account, box.inbox)
    ids = [str(a.id)]

    async def post(body):
        return await client.post("/api/emails/bulk", json=body, headers=box.headers)

    assert_error(await post({"email_ids": ids, "action": "explode"}), 400, "VAL002")
    assert_error(await post({"email_ids": [], "action": "star"}), 400, "VAL003")
    too_many = [str(uuid.uuid4()) for _ in range(1001)]
    assert_error(await post({"email_ids": too_many, "action": "star"}), 400, "VAL003")
    assert_error(await post({"email_ids": ids, "action": "move"}), 400, "VAL001")
    assert_error(
        await post(
            {"email_ids": ids, "action": "move", "params": {"folder_id": str(other.inbox.id)}}
        ),
        400,
        "EMAIL007",
    )
    past = (utcnow() - timedelta(hours=1)).isoformat()
    assert_error(
        await post({"email_ids": ids, "action": "snooze", "params": {"until": past}}), 400, "VAL003"
    )
    assert_error(
        await post({"email_ids": ids, "action": "set_category", "params": {"category": "x"}}),
        400,
        "VAL002",
    )
    assert await queued_jobs(runtime) == []
