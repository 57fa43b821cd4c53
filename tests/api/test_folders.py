"""/api/folders: counts, create, rename/move, delete, role folders fixed, ownership."""

from __future__ import annotations

from sqlalchemy import select

from mailmind.models import Folder, Message
from tests.api.conftest import queued_jobs
from tests.conftest import assert_error
from tests.factories import create_folder, create_message


async def test_folders_with_counts_that_follow_changes(client, runtime, box):
    async with runtime.db.session() as s:
        a = await create_message(s, box.account, box.inbox)
        await create_message(s, box.account, box.inbox)
        await create_message(s, box.account, box.inbox, is_read=True)
    folders = (
        await client.get(
            "/api/folders", params={"account_id": str(box.account.id)}, headers=box.headers
        )
    ).json()
    inbox = next(f for f in folders if f["role"] == "inbox")
    assert set(inbox) == {
        "id",
        "account_id",
        "name",
        "path",
        "role",
        "parent_id",
        "unread_count",
        "total_count",
    }
    assert (inbox["unread_count"], inbox["total_count"]) == (2, 3)
    await client.patch(f"/api/emails/{a.id}", json={"is_read": True}, headers=box.headers)
    await client.delete(f"/api/emails/{a.id}", headers=box.headers)
    folders = (await client.get("/api/folders", headers=box.headers)).json()
    counts = {f["role"]: (f["unread_count"], f["total_count"]) for f in folders}
    assert counts["inbox"] == (1, 2)
    assert counts["trash"] == (0, 1)


async def test_create_nested_duplicate_and_bad_parent(client, runtime, box, other):
    async def create(**body):
        return await client.post("/api/folders", json=body, headers=box.headers)

    response = await create(account_id=str(box.account.id), name="Projects")
    assert response.status_code == 201, response.text
    projects = response.json()
    assert (projects["path"], projects["role"], projects["unread_count"]) == (
        "Projects",
        "custom",
        0,
    )
    child = (
        await create(account_id=str(box.account.id), name="2026", parent_id=projects["id"])
    ).json()
    assert (child["path"], child["parent_id"]) == ("Projects/2026", projects["id"])
    assert_error(await create(account_id=str(box.account.id), name="projects"), 400, "VAL008")
    assert_error(
        await create(account_id=str(box.account.id), name="X", parent_id=str(other.inbox.id)),
        400,
        "EMAIL007",
    )
    assert_error(await create(account_id=str(box.account.id), name="a/b"), 400, "VAL002")
    assert_error(await create(account_id=str(other.account.id), name="X"), 404, "RES001")
    jobs = await queued_jobs(runtime)
    assert [j["args"]["op"] for j in jobs] == ["folder_create", "folder_create"]


async def test_rename_and_move_carry_sub_folders(client, runtime, box):
    async with runtime.db.session() as s:
        parent = await create_folder(s, box.account, name="Clients")
        child = await create_folder(s, box.account, name="Acme", parent=parent)
        archive_root = await create_folder(s, box.account, name="Old")
    response = await client.patch(
        f"/api/folders/{parent.id}", json={"name": "Customers"}, headers=box.headers
    )
    assert response.json()["path"] == "Customers"
    response = await client.patch(
        f"/api/folders/{parent.id}", json={"parent_id": str(archive_root.id)}, headers=box.headers
    )
    assert response.json()["path"] == "Old/Customers"
    async with runtime.db.session() as s:
        assert (await s.get(Folder, child.id)).path == "Old/Customers/Acme"
    assert_error(
        await client.patch(
            f"/api/folders/{parent.id}", json={"parent_id": str(child.id)}, headers=box.headers
        ),
        400,
        "EMAIL007",
    )
    response = await client.patch(
        f"/api/folders/{parent.id}", json={"parent_id": None}, headers=box.headers
    )
    assert response.json()["path"] == "Customers"
    jobs = [j["args"] for j in await queued_jobs(runtime)]
    assert [(j["old_path"], j["new_path"]) for j in jobs] == [
        ("Clients", "Customers"),
        ("Customers", "Old/Customers"),
        ("Old/Customers", "Customers"),
    ]


async def test_role_folders_are_fixed(client, runtime, box):
    assert_error(
        await client.patch(
            f"/api/folders/{box.inbox.id}", json={"name": "Mine"}, headers=box.headers
        ),
        403,
        "RES005",
    )
    assert_error(
        await client.delete(f"/api/folders/{box.inbox.id}", headers=box.headers), 403, "RES005"
    )


async def test_delete_removes_sub_folders_and_their_mail(client, runtime, box):
    async with runtime.db.session() as s:
        parent = await create_folder(s, box.account, name="Old")
        child = await create_folder(s, box.account, name="Older", parent=parent)
        m = await create_message(s, box.account, child)
    assert (
        await client.delete(f"/api/folders/{parent.id}", headers=box.headers)
    ).status_code == 204
    async with runtime.db.session() as s:
        assert (
            await s.scalars(select(Folder).where(Folder.id.in_([parent.id, child.id])))
        ).all() == []
        assert (await s.get(Message, m.id)).deleted_at is not None
    (job,) = await queued_jobs(runtime)
    assert job["args"]["paths"] == ["Old/Older", "Old"]


async def test_another_users_folders_are_res001(client, runtime, box, other):
    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        response = await client.request(
            method, f"/api/folders/{other.inbox.id}", json=body, headers=box.headers
        )
        assert_error(response, 404, "RES001")
    listed = (await client.get("/api/folders", headers=box.headers)).json()
    assert {f["account_id"] for f in listed} == {str(box.account.id)}
    assert_error(
        await client.get(
            "/api/folders", params={"account_id": str(other.account.id)}, headers=box.headers
        ),
        404,
        "RES001",
    )
