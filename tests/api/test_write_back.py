"""The write-back of local changes to a real IMAP server (Dovecot): flags, tags as keywords,
moves with COPYUID, delete and expunge, folder changes, and the server winning when it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from mailmind.account.tokens import seal_secret
from mailmind.models import Folder, MailAccount, Message
from mailmind.tag.keywords import MAX_LENGTH, imap_keyword
from tests.conftest import bearer, create_user, drain_jobs, login, runtime_with
from tests.factories import create_account, create_folder, create_message

RAW = b"From: ada@example.com\r\nTo: bob@example.com\r\nSubject: Sync me\r\nMessage-ID: <w@x>\r\n\r\nHi\r\n"


@pytest.fixture
def rt(runtime, dovecot):
    return runtime_with(runtime, mail_ca_file=dovecot.ca_file)


def _uidvalidity(dovecot, user, folder: str) -> int:
    with dovecot.client(user) as c:
        return int(c.select_folder(folder)[b"UIDVALIDITY"])


def _server(dovecot, user, folder: str) -> dict[int, tuple[bytes, ...]]:
    with dovecot.client(user) as c:
        c.select_folder(folder)
        return {uid: data[b"FLAGS"] for uid, data in c.fetch(c.search("ALL"), ["FLAGS"]).items()}


async def _setup(rt, client, dovecot, mail_user) -> dict[str, Any]:
    user = await create_user(rt)
    headers = bearer((await login(client, user.email))["access_token"])
    uid = dovecot.deliver(mail_user, "INBOX", RAW)
    async with rt.db.session() as s:
        account = await create_account(
            s,
            user,
            email=f"{mail_user.username}@example.com",
            imap_host="127.0.0.1",
            imap_port=dovecot.imaps_port,
            imap_security="ssl",
            imap_username=mail_user.username,
        )
        seal_secret(rt, account, {"password": mail_user.password})
        folders = {}
        for role, path in (("inbox", "INBOX"), ("trash", "Trash"), ("archive", "Archive")):
            folders[role] = await create_folder(
                s, account, role=role, path=path, uidvalidity=_uidvalidity(dovecot, mail_user, path)
            )
        message = await create_message(
            s,
            account,
            folders["inbox"],
            uid=uid,
            uidvalidity=folders["inbox"].uidvalidity,
            message_id_header="<w@x>",
        )
    return {
        "headers": headers,
        "account": account,
        "folders": folders,
        "message": message,
        "uid": uid,
    }


async def _row(rt, model, id_) -> Any:
    async with rt.db.session() as s:
        return await s.get(model, id_)


async def test_flags_reach_the_server(client, rt, dovecot, mail_user):
    box = await _setup(rt, client, dovecot, mail_user)
    m = box["message"]
    await client.patch(
        f"/api/emails/{m.id}", json={"is_read": True, "is_starred": True}, headers=box["headers"]
    )
    await drain_jobs(rt)
    assert set(_server(dovecot, mail_user, "INBOX")[box["uid"]]) >= {b"\\Seen", b"\\Flagged"}
    await client.patch(f"/api/emails/{m.id}", json={"is_starred": False}, headers=box["headers"])
    await drain_jobs(rt)
    assert b"\\Flagged" not in _server(dovecot, mail_user, "INBOX")[box["uid"]]


async def test_answered_reaches_the_server(rt, dovecot, mail_user, client):
    from mailmind.compose.service import queue_answered_write_back

    box = await _setup(rt, client, dovecot, mail_user)
    async with rt.db.session() as s:
        await queue_answered_write_back(s, box["account"], [box["message"].id])
        await s.commit()
    await drain_jobs(rt)
    assert b"\\Answered" in _server(dovecot, mail_user, "INBOX")[box["uid"]]


async def test_move_takes_the_new_uid_and_delete_expunges(client, rt, dovecot, mail_user):
    box = await _setup(rt, client, dovecot, mail_user)
    m, archive = box["message"], box["folders"]["archive"]
    await client.patch(
        f"/api/emails/{m.id}", json={"folder_id": str(archive.id)}, headers=box["headers"]
    )
    await drain_jobs(rt)
    assert _server(dovecot, mail_user, "INBOX") == {}
    (new_uid,) = _server(dovecot, mail_user, "Archive")
    moved = await _row(rt, Message, m.id)
    assert (moved.folder_id, moved.uid, moved.uidvalidity) == (
        archive.id,
        new_uid,
        archive.uidvalidity,
    )
    await client.delete(f"/api/emails/{m.id}", headers=box["headers"])
    await drain_jobs(rt)
    assert _server(dovecot, mail_user, "Archive") == {}
    assert len(_server(dovecot, mail_user, "Trash")) == 1
    await client.delete(f"/api/emails/{m.id}", headers=box["headers"])
    await drain_jobs(rt)
    assert _server(dovecot, mail_user, "Trash") == {}


async def test_a_refused_move_is_rolled_back(client, rt, dovecot, mail_user):
    box = await _setup(rt, client, dovecot, mail_user)
    m = box["message"]
    async with rt.db.session() as s:
        account = await s.get(MailAccount, box["account"].id)
        # Known locally but not on the server: the server answers NO [TRYCREATE].
        ghost = await create_folder(s, account, path="Ghost")
    await client.patch(
        f"/api/emails/{m.id}", json={"folder_id": str(ghost.id)}, headers=box["headers"]
    )
    assert (await _row(rt, Message, m.id)).folder_id == ghost.id
    await drain_jobs(rt)
    back = await _row(rt, Message, m.id)
    assert (back.folder_id, back.uid) == (box["folders"]["inbox"].id, box["uid"])
    assert list(_server(dovecot, mail_user, "INBOX")) == [box["uid"]]


async def test_folder_changes_are_mirrored(client, rt, dovecot, mail_user):
    box = await _setup(rt, client, dovecot, mail_user)
    headers, account = box["headers"], box["account"]
    created = (
        await client.post(
            "/api/folders",
            json={"account_id": str(account.id), "name": "Projects"},
            headers=headers,
        )
    ).json()
    child = (
        await client.post(
            "/api/folders",
            json={"account_id": str(account.id), "name": "Q1", "parent_id": created["id"]},
            headers=headers,
        )
    ).json()
    await drain_jobs(rt)

    def server_folders() -> set[str]:
        with dovecot.client(mail_user) as c:
            return {name for _, _, name in c.list_folders()}

    assert {"Projects", "Projects/Q1"} <= server_folders()
    await client.patch(f"/api/folders/{created['id']}", json={"name": "Work"}, headers=headers)
    await drain_jobs(rt)
    assert {"Work", "Work/Q1"} <= server_folders() and "Projects" not in server_folders()
    assert (await _row(rt, Folder, child["id"])).path == "Work/Q1"
    await client.delete(f"/api/folders/{created['id']}", headers=headers)
    await drain_jobs(rt)
    assert not {"Work", "Work/Q1"} & server_folders()


def test_keywords_are_imap_atoms():
    assert imap_keyword("Work/Projects") == "Work/Projects"
    assert imap_keyword("Projekte/Büro & Co") == "Projekte/B&APw-ro_&-_Co"
    assert imap_keyword('a(b)c{d}e%f*g"h\\i]j') == "a_b_c_d_e_f_g_h_i_j"
    long_a = imap_keyword("Clients/" + "A" * 80)
    long_b = imap_keyword("Clients/" + "A" * 79 + "B")
    assert len(long_a) == len(long_b) == MAX_LENGTH and long_a != long_b


async def test_the_users_tags_reach_the_server_as_keywords(client, rt, dovecot, mail_user):
    box = await _setup(rt, client, dovecot, mail_user)
    m = box["message"]
    response = await client.post(
        f"/api/emails/{m.id}/tags",
        json={"add": ["Projekte/Büro", "Travel"]},
        headers=box["headers"],
    )
    assert response.status_code == 200, response.text
    await drain_jobs(rt)
    flags = set(_server(dovecot, mail_user, "INBOX")[box["uid"]])
    assert {b"Projekte/B&APw-ro", b"Travel"} <= flags

    await client.post(
        f"/api/emails/{m.id}/tags", json={"remove": ["Travel"]}, headers=box["headers"]
    )
    await drain_jobs(rt)
    flags = set(_server(dovecot, mail_user, "INBOX")[box["uid"]])
    assert b"Travel" not in flags and b"Projekte/B&APw-ro" in flags
