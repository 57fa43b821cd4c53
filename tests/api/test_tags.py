"""/api/tags: the hierarchical tag tree (PRODUCT_SPEC §7)."""

from __future__ import annotations

from tests.conftest import assert_error
from tests.factories import create_message, create_tag


async def test_crud_with_counts_and_cascading_rename(client, runtime, box):
    response = await client.post(
        "/api/tags", json={"path": "Work/Clients", "color": "#ff8800"}, headers=box.headers
    )
    assert response.status_code == 201, response.text
    clients = response.json()
    assert (clients["path"], clients["color"], clients["source"], clients["email_count"]) == (
        "Work/Clients",
        "#ff8800",
        "user",
        0,
    )
    async with runtime.db.session() as s:
        tag = await create_tag(s, box.user, "Work/Clients/Acme")
        await create_message(s, box.account, box.inbox, tags=[tag])
    listed = {t["path"]: t for t in (await client.get("/api/tags", headers=box.headers)).json()}
    assert set(listed) == {"Work", "Work/Clients", "Work/Clients/Acme"}
    assert listed["Work/Clients/Acme"]["email_count"] == 1
    work = listed["Work"]
    response = await client.patch(
        f"/api/tags/{work['id']}", json={"path": "Job"}, headers=box.headers
    )
    assert response.json()["path"] == "Job"
    listed = {t["path"] for t in (await client.get("/api/tags", headers=box.headers)).json()}
    assert listed == {"Job", "Job/Clients", "Job/Clients/Acme"}
    emails = (await client.get("/api/emails", params={"tag": "job"}, headers=box.headers)).json()
    assert len(emails["items"]) == 1
    assert emails["items"][0]["tags"] == ["Job/Clients/Acme"]
    assert (await client.delete(f"/api/tags/{work['id']}", headers=box.headers)).status_code == 204
    assert (await client.get("/api/tags", headers=box.headers)).json() == []


async def test_tag_path_rules(client, runtime, box):
    async def create(path, **extra):
        return await client.post("/api/tags", json={"path": path, **extra}, headers=box.headers)

    assert (await create("Work")).status_code == 201
    assert_error(await create("work"), 400, "VAL008")
    for bad in ("", "a//b", "/a", "a" * 65, "a/b/c/d/e/f", "/".join(["x" * 60] * 5)):
        assert_error(await create(bad), 400, "VAL002")
    assert (await create("a/b/c/d/e")).status_code == 201
    assert_error(await create("Colour", color="red"), 400, "VAL002")


async def test_rename_conflicts_and_cycles(client, runtime, box):
    a = (await client.post("/api/tags", json={"path": "A"}, headers=box.headers)).json()
    await client.post("/api/tags", json={"path": "B"}, headers=box.headers)
    assert_error(
        await client.patch(f"/api/tags/{a['id']}", json={"path": "b"}, headers=box.headers),
        400,
        "VAL008",
    )
    assert_error(
        await client.patch(f"/api/tags/{a['id']}", json={"path": "A/Sub"}, headers=box.headers),
        400,
        "VAL002",
    )
    response = await client.patch(f"/api/tags/{a['id']}", json={"path": "B/A"}, headers=box.headers)
    assert response.json()["path"] == "B/A"


async def test_another_users_tags_are_res001(client, runtime, box, other):
    async with runtime.db.session() as s:
        theirs = await create_tag(s, other.user, "Secret")
    for method, body in (("GET", None), ("PATCH", {"color": "#000000"}), ("DELETE", None)):
        response = await client.request(
            method, f"/api/tags/{theirs.id}", json=body, headers=box.headers
        )
        assert_error(response, 404, "RES001")
    assert (await client.get("/api/tags", headers=box.headers)).json() == []


async def test_ensure_tags_creates_every_missing_level_at_once_and_keeps_spelling(runtime, box):
    from sqlalchemy import select

    from mailmind.models import Tag
    from mailmind.tag.service import ensure_tags

    async with runtime.db.session() as s:
        await create_tag(s, box.user, "Work")
    async with runtime.db.session() as s:
        tags = await ensure_tags(
            s,
            box.user.id,
            [" work / Clients / ACME ", "Work/clients/Beta", "Personal", "WORK/Clients/Acme"],
            source="ai",
        )
        # One answer per path asked, in order; a new tag takes its parent's spelling.
        paths = [t.path for t in tags]
        assert paths == ["Work/Clients/ACME", "Work/Clients/Beta", "Personal", "Work/Clients/ACME"]
    async with runtime.db.session() as s:
        stored = {t.path: t for t in await s.scalars(select(Tag).where(Tag.user_id == box.user.id))}
    assert set(stored) == {
        "Work",
        "Work/Clients",
        "Work/Clients/ACME",
        "Work/Clients/Beta",
        "Personal",
    }
    assert stored["Work"].source == "user"  # an existing tag keeps its source
    assert stored["Work/Clients"].parent_id == stored["Work"].id
    assert stored["Work/Clients/ACME"].parent_id == stored["Work/Clients"].id
    assert stored["Personal"].parent_id is None
