"""Adding, reading, editing, syncing and deleting IMAP/SMTP accounts against a real Dovecot and a
real SMTP submission server."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text, update

from mailmind.account import service, tokens
from mailmind.jobs.queue import app as job_app
from mailmind.models import Folder, MailAccount, Message, Notification, Thread
from tests.account.conftest import account_body, signed_in
from tests.conftest import app_for, assert_error, drain_jobs, make_client, runtime_with
from tests.services import free_port


def _require_sync_task() -> None:
    if "mailbox.sync" not in job_app.tasks:
        pytest.skip("the mailbox.sync task (mailmind.mailbox.tasks) is not registered")


async def jobs(runtime: Any, task: str | None = None) -> list[dict[str, Any]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT id, task_name, args, lock, queueing_lock, queue_name, status "
                "FROM procrastinate_jobs ORDER BY id"
            )
        )
        found = [dict(r._mapping) for r in rows]
    return [j for j in found if task is None or j["task_name"] == task]


async def load(runtime: Any, account_id: str) -> MailAccount | None:
    async with runtime.db.session() as session:
        return await session.get(MailAccount, uuid.UUID(account_id))


async def create(client, headers, body) -> dict[str, Any]:
    response = await client.post("/api/accounts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_adding_an_account_checks_both_logins_seals_the_password_and_queues_the_sync(
    client, mail_runtime, dovecot, submission, mailbox, caplog
):
    _require_sync_task()
    caplog.set_level(logging.DEBUG)
    _, headers = await signed_in(client, mail_runtime)
    body = account_body(dovecot, submission, mailbox, email="Ada@Example.org")
    response = await client.post("/api/accounts", json=body, headers=headers)

    assert response.status_code == 201, response.text
    account = response.json()
    assert account["kind"] == "imap"
    assert account["email"] == "ada@example.org"
    assert account["display_name"] == "Work"
    assert account["sync_state"] == "pending"
    assert account["auth"] == "password"
    assert account["imap"] == {
        "host": "127.0.0.1",
        "port": dovecot.imaps_port,
        "security": "ssl",
        "username": mailbox.username,
    }
    assert account["smtp"]["security"] == "starttls"
    assert account["sync"] == {"initial_days": 30, "depth_days": 365, "excluded_folders": []}
    assert mailbox.password not in response.text
    assert "password" not in account

    stored = await load(mail_runtime, account["id"])
    assert stored is not None
    assert mailbox.password.encode() not in stored.secret_ciphertext
    assert stored.secret_key_id == mail_runtime.secrets.current_key_id
    assert tokens.open_secret(mail_runtime, stored) == {"password": mailbox.password}

    (job,) = await jobs(mail_runtime, "mailbox.sync")
    assert job["args"] == {"account_id": account["id"], "full": False}
    assert job["lock"] == f"account:{account['id']}"
    assert job["queueing_lock"] == f"sync:{account['id']}"
    assert job["status"] == "todo"

    listed = (await client.get("/api/accounts", headers=headers)).json()
    assert [a["id"] for a in listed["items"]] == [account["id"]]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert mailbox.password not in logged
    assert "mail_account_created" in logged


async def test_wrong_password_is_email001_auth_and_saves_nothing(
    client, mail_runtime, dovecot, submission, mailbox, caplog
):
    caplog.set_level(logging.DEBUG)
    _, headers = await signed_in(client, mail_runtime)
    body = account_body(dovecot, submission, mailbox, password="not-the-password-42")
    response = await client.post("/api/accounts", json=body, headers=headers)
    error = assert_error(response, 500, "EMAIL001")
    assert error["details"]["reason"] == "auth"
    assert "not-the-password-42" not in response.text
    assert "not-the-password-42" not in "\n".join(r.getMessage() for r in caplog.records)
    assert (await client.get("/api/accounts", headers=headers)).json()["items"] == []
    assert await jobs(mail_runtime) == []


async def test_smtp_refusing_the_login_is_email002_auth(
    client, mail_runtime, dovecot, submission, mailbox
):
    _, headers = await signed_in(client, mail_runtime)
    submission.logins[mailbox.username] = "another-smtp-password"
    response = await client.post(
        "/api/accounts", json=account_body(dovecot, submission, mailbox), headers=headers
    )
    error = assert_error(response, 500, "EMAIL002")
    assert error["details"]["reason"] == "auth"


async def test_closed_port_is_email001_connect(client, mail_runtime, dovecot, submission, mailbox):
    _, headers = await signed_in(client, mail_runtime)
    body = account_body(dovecot, submission, mailbox, imap_port=free_port())
    error = assert_error(
        await client.post("/api/accounts", json=body, headers=headers), 500, "EMAIL001"
    )
    assert error["details"]["reason"] == "connect"


async def test_a_server_that_never_greets_is_email001_timeout(
    client, mail_runtime, dovecot, submission, mailbox, monkeypatch
):
    # The kernel completes the TCP handshake from the backlog; nobody ever answers.
    silent = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setattr(service, "LOGIN_CHECK_SECONDS", 1.0)
    try:
        _, headers = await signed_in(client, mail_runtime)
        body = account_body(dovecot, submission, mailbox, imap_port=silent.getsockname()[1])
        error = assert_error(
            await client.post("/api/accounts", json=body, headers=headers), 500, "EMAIL001"
        )
    finally:
        silent.close()
    assert error["details"]["reason"] == "timeout"


async def test_plain_imap_is_accepted_with_allow_insecure_mail(
    mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    insecure = runtime_with(mail_runtime, allow_insecure_mail=True)
    async with make_client(app_for(insecure)) as client:
        _, headers = await signed_in(client, insecure)
        body = account_body(dovecot, submission, mailbox, imap_port=dovecot.imap_port)
        body["imap"]["security"] = "none"
        account = await create(client, headers, body)
    assert account["imap"]["security"] == "none"


async def test_closed_smtp_port_is_email002_connect(
    client, mail_runtime, dovecot, submission, mailbox
):
    _, headers = await signed_in(client, mail_runtime)
    body = account_body(dovecot, submission, mailbox, smtp_port=free_port())
    error = assert_error(
        await client.post("/api/accounts", json=body, headers=headers), 500, "EMAIL002"
    )
    assert error["details"]["reason"] == "connect"


async def test_servers_without_tls_need_allow_insecure_mail(
    client, mail_runtime, dovecot, submission, mailbox
):
    _, headers = await signed_in(client, mail_runtime)
    body = account_body(dovecot, submission, mailbox)
    body["imap"]["security"] = "none"
    body["imap"]["port"] = dovecot.imap_port
    error = assert_error(
        await client.post("/api/accounts", json=body, headers=headers), 400, "VAL003"
    )
    assert error["details"]["field"] == "imap.security"


async def test_the_same_mailbox_twice_is_val008(client, mail_runtime, dovecot, submission, mailbox):
    _require_sync_task()
    _, headers = await signed_in(client, mail_runtime)
    body = account_body(dovecot, submission, mailbox)
    await create(client, headers, body)
    again = await client.post("/api/accounts", json=body, headers=headers)
    assert_error(again, 400, "VAL008")


async def test_bad_input_is_refused_before_any_connection(
    client, mail_runtime, dovecot, submission, mailbox
):
    _, headers = await signed_in(client, mail_runtime)
    body = account_body(dovecot, submission, mailbox, email="not an address")
    assert_error(await client.post("/api/accounts", json=body, headers=headers), 400, "VAL004")
    body = account_body(dovecot, submission, mailbox)
    body["imap"]["port"] = 70000
    assert_error(await client.post("/api/accounts", json=body, headers=headers), 400, "VAL003")
    body = account_body(dovecot, submission, mailbox)
    del body["password"]
    assert_error(await client.post("/api/accounts", json=body, headers=headers), 400, "VAL001")
    body = account_body(dovecot, submission, mailbox)
    body["imap"]["host"] = "imap.example.org/path"
    assert_error(await client.post("/api/accounts", json=body, headers=headers), 400, "VAL002")


async def test_list_shows_only_the_users_own_accounts(
    client, mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    _, alice = await signed_in(client, mail_runtime)
    _, bob = await signed_in(client, mail_runtime)
    mine = await create(client, alice, account_body(dovecot, submission, mailbox))
    assert [
        a["id"] for a in (await client.get("/api/accounts", headers=alice)).json()["items"]
    ] == [mine["id"]]
    assert (await client.get("/api/accounts", headers=bob)).json() == {
        "items": [],
        "next_cursor": None,
    }


async def test_another_users_account_is_res001_everywhere(
    client, mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    _, alice = await signed_in(client, mail_runtime)
    _, bob = await signed_in(client, mail_runtime)
    account = await create(client, alice, account_body(dovecot, submission, mailbox))
    path = f"/api/accounts/{account['id']}"
    assert_error(await client.get(path, headers=bob), 404, "RES001")
    assert_error(
        await client.put(path, json={"display_name": "mine now"}, headers=bob), 404, "RES001"
    )
    assert_error(await client.delete(path, headers=bob), 404, "RES001")
    assert_error(await client.post(f"{path}/sync", json={}, headers=bob), 404, "RES001")
    assert_error(await client.get(f"/api/accounts/{uuid.uuid4()}", headers=alice), 404, "RES001")
    still = await client.get(path, headers=alice)
    assert still.json()["display_name"] == "Work"
    assert still.json()["sync_state"] == "pending"


async def test_manual_sync_is_queued_at_most_once_a_minute(
    client, mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    _, headers = await signed_in(client, mail_runtime)
    account = await create(client, headers, account_body(dovecot, submission, mailbox))
    async with mail_runtime.db.session() as session:
        await session.execute(text("DELETE FROM procrastinate_jobs"))

    first = await client.post(
        f"/api/accounts/{account['id']}/sync", json={"full": True}, headers=headers
    )
    assert first.status_code == 202, first.text
    (job,) = await jobs(mail_runtime, "mailbox.sync")
    assert first.json() == {"job_id": job["id"]}
    assert job["args"] == {"account_id": account["id"], "full": True}

    second = await client.post(f"/api/accounts/{account['id']}/sync", headers=headers)
    error = assert_error(second, 429, "RATE002")
    retry_after = int(second.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert error["details"]["retryAfter"] == retry_after
    assert len(await jobs(mail_runtime, "mailbox.sync")) == 1


async def test_manual_sync_while_the_first_one_waits_returns_that_job_made_full(
    client, mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    _, headers = await signed_in(client, mail_runtime)
    account = await create(client, headers, account_body(dovecot, submission, mailbox))
    (initial,) = await jobs(mail_runtime, "mailbox.sync")
    response = await client.post(
        f"/api/accounts/{account['id']}/sync", json={"full": True}, headers=headers
    )
    assert response.status_code == 202
    assert response.json() == {"job_id": initial["id"]}
    (job,) = await jobs(mail_runtime, "mailbox.sync")
    assert job["args"]["full"] is True


async def test_update_name_ai_sync_window_and_excluded_folders(
    client, mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    _, headers = await signed_in(client, mail_runtime)
    account = await create(client, headers, account_body(dovecot, submission, mailbox))
    async with mail_runtime.db.session() as session:
        stored = await session.get(MailAccount, uuid.UUID(account["id"]))
        spam = Folder(account_id=stored.id, user_id=stored.user_id, name="Spam", path="Spam")
        inbox = Folder(account_id=stored.id, user_id=stored.user_id, name="INBOX", path="INBOX")
        session.add_all([spam, inbox])
    response = await client.put(
        f"/api/accounts/{account['id']}",
        json={
            "display_name": "Private",
            "ai_enabled": False,
            "sync": {"initial_days": 7, "depth_days": 0, "excluded_folders": [str(spam.id)]},
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["display_name"] == "Private"
    assert updated["ai_enabled"] is False
    assert updated["sync"] == {
        "initial_days": 7,
        "depth_days": 0,
        "excluded_folders": [str(spam.id)],
    }
    async with mail_runtime.db.session() as session:
        flags = dict((await session.execute(select(Folder.path, Folder.excluded))).all())
    assert flags == {"Spam": True, "INBOX": False}

    foreign = await client.put(
        f"/api/accounts/{account['id']}",
        json={"sync": {"excluded_folders": [str(uuid.uuid4())]}},
        headers=headers,
    )
    assert_error(foreign, 400, "EMAIL007")
    assert_error(
        await client.put(
            f"/api/accounts/{account['id']}", json={"sync": {"initial_days": 0}}, headers=headers
        ),
        400,
        "VAL003",
    )


async def test_a_new_password_brings_auth_required_back_to_pending_with_a_sync(
    client, mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    _, headers = await signed_in(client, mail_runtime)
    account = await create(client, headers, account_body(dovecot, submission, mailbox))
    async with mail_runtime.db.session() as session:
        await session.execute(text("DELETE FROM procrastinate_jobs"))
        await session.execute(
            update(MailAccount)
            .where(MailAccount.id == uuid.UUID(account["id"]))
            .values(sync_state="auth_required", sync_error="login refused")
        )
    waiting = await client.post(f"/api/accounts/{account['id']}/sync", headers=headers)
    assert_error(waiting, 409, "RES003")
    new_password = f"changed-{uuid.uuid4().hex}"
    wrong = await client.put(
        f"/api/accounts/{account['id']}", json={"password": new_password}, headers=headers
    )
    assert assert_error(wrong, 500, "EMAIL001")["details"]["reason"] == "auth"

    dovecot.set_password(mailbox, new_password)
    submission.logins[mailbox.username] = new_password
    response = await client.put(
        f"/api/accounts/{account['id']}", json={"password": new_password}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["sync_state"] == "pending"
    assert response.json()["sync_error"] is None
    assert new_password not in response.text
    stored = await load(mail_runtime, account["id"])
    assert tokens.open_secret(mail_runtime, stored) == {"password": new_password}
    (job,) = await jobs(mail_runtime, "mailbox.sync")
    assert job["args"] == {"account_id": account["id"], "full": False}


async def test_new_servers_are_checked_with_the_stored_password(
    client, mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    _, headers = await signed_in(client, mail_runtime)
    account = await create(client, headers, account_body(dovecot, submission, mailbox))
    path = f"/api/accounts/{account['id']}"
    starttls = {
        "host": "127.0.0.1",
        "port": dovecot.imap_port,
        "security": "starttls",
        "username": mailbox.username,
    }
    response = await client.put(path, json={"imap": starttls}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["imap"] == starttls
    closed = {**starttls, "port": free_port()}
    refused = await client.put(path, json={"imap": closed}, headers=headers)
    assert assert_error(refused, 500, "EMAIL001")["details"]["reason"] == "connect"
    assert (await client.get(path, headers=headers)).json()["imap"] == starttls


async def test_a_wrong_new_password_keeps_the_stored_one(
    client, mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    _, headers = await signed_in(client, mail_runtime)
    account = await create(client, headers, account_body(dovecot, submission, mailbox))
    response = await client.put(
        f"/api/accounts/{account['id']}", json={"password": "wrong-wrong-wrong"}, headers=headers
    )
    assert_error(response, 500, "EMAIL001")
    stored = await load(mail_runtime, account["id"])
    assert tokens.open_secret(mail_runtime, stored) == {"password": mailbox.password}


async def test_delete_disables_then_purges_local_data_but_not_the_server(
    client, mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    user, headers = await signed_in(client, mail_runtime)
    account = await create(client, headers, account_body(dovecot, submission, mailbox))
    dovecot.deliver(mailbox, "INBOX", b"From: a@example.org\r\nSubject: keep me\r\n\r\nbody\r\n")
    account_id = uuid.UUID(account["id"])
    async with mail_runtime.db.session() as session:
        folder = Folder(account_id=account_id, user_id=user.id, name="INBOX", path="INBOX")
        thread = Thread(account_id=account_id, user_id=user.id, subject="local copy")
        session.add_all([folder, thread])
        await session.flush()
        session.add(
            Message(
                account_id=account_id,
                user_id=user.id,
                folder_id=folder.id,
                thread_id=thread.id,
                uid=1,
                uidvalidity=1,
                subject="local copy",
            )
        )

    response = await client.delete(f"/api/accounts/{account['id']}", headers=headers)
    assert response.status_code == 202
    assert response.json()["sync_state"] == "disabled"
    shown = await client.get(f"/api/accounts/{account['id']}", headers=headers)
    assert shown.json()["sync_state"] == "disabled"
    assert_error(
        await client.post(f"/api/accounts/{account['id']}/sync", headers=headers), 410, "RES002"
    )
    (purge,) = await jobs(mail_runtime, "account.purge")
    assert purge["lock"] == f"account:{account['id']}"

    await drain_jobs(mail_runtime)

    assert_error(await client.get(f"/api/accounts/{account['id']}", headers=headers), 404, "RES001")
    async with mail_runtime.db.session() as session:
        for model in (MailAccount, Folder, Thread, Message):
            count = await session.scalar(select(func.count()).select_from(model))
            assert count == 0, model.__name__
    with dovecot.client(mailbox) as imap:
        assert imap.select_folder("INBOX", readonly=True)[b"EXISTS"] == 1


async def test_local_account_is_created_once(mail_runtime, client):
    user, _ = await signed_in(client, mail_runtime)
    async with mail_runtime.db.session() as session:
        first = await service.get_or_create_local_account(session, user.id)
        second = await service.get_or_create_local_account(session, user.id)
    assert first.id == second.id
    assert first.kind == "local"
    assert first.email == user.email
    assert first.imap_host is None


async def test_connection_configs_carry_the_password_and_the_mail_ca(
    client, mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    _, headers = await signed_in(client, mail_runtime)
    account = await create(client, headers, account_body(dovecot, submission, mailbox))
    async with mail_runtime.db.session() as session:
        stored = await session.get(MailAccount, uuid.UUID(account["id"]))
        imap, smtp = await service.connection_configs(session, mail_runtime, stored)
    assert (imap.host, imap.port, imap.security) == ("127.0.0.1", dovecot.imaps_port, "ssl")
    assert (imap.username, imap.password, imap.access_token) == (
        mailbox.username,
        mailbox.password,
        None,
    )
    assert imap.ca_file == dovecot.ca_file
    assert (smtp.port, smtp.security, smtp.password) == (
        submission.port,
        "starttls",
        mailbox.password,
    )
    assert mailbox.password not in repr(imap)


async def test_mark_auth_required_notifies_once_and_publishes_an_error(
    client, mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    from mailmind.realtime.publish import CHANNEL

    user, headers = await signed_in(client, mail_runtime)
    account = await create(client, headers, account_body(dovecot, submission, mailbox))
    events = mail_runtime.store.subscribe(CHANNEL)
    # The subscription is live once one of our probes comes back.
    first = asyncio.ensure_future(anext(events))
    while not first.done():
        await mail_runtime.store.publish(CHANNEL, "probe")
        await asyncio.wait({first}, timeout=0.05)
    assert first.result()[1] == "probe"
    for _ in range(2):
        async with mail_runtime.db.session() as session:
            stored = await session.get(MailAccount, uuid.UUID(account["id"]))
            await service.mark_auth_required(session, mail_runtime, stored, "LOGIN refused")

    seen = []
    while len(seen) < 3:
        _, message = await anext(events)
        if message != "probe":
            seen.append(message)
    await events.aclose()
    decoded = [orjson.loads(m) for m in seen]
    assert [e["type"] for e in decoded] == ["sync_status", "notification", "sync_status"]
    assert all(e["user_id"] == str(user.id) for e in decoded)
    assert decoded[0]["data"]["status"] == "error"
    assert decoded[0]["data"]["state"] == "auth_required"
    assert decoded[0]["data"]["account_id"] == account["id"]
    assert decoded[1]["data"]["type"] == "sync_error"

    shown = (await client.get(f"/api/accounts/{account['id']}", headers=headers)).json()
    assert shown["sync_state"] == "auth_required"
    assert shown["sync_error"] == "LOGIN refused"
    async with mail_runtime.db.session() as session:
        notes = (await session.scalars(select(Notification))).all()
    assert [(n.type, n.user_id) for n in notes] == [("sync_error", user.id)]


async def test_a_deleted_account_is_not_revived_by_a_late_auth_failure(
    client, mail_runtime, dovecot, submission, mailbox
):
    _require_sync_task()
    _, headers = await signed_in(client, mail_runtime)
    account = await create(client, headers, account_body(dovecot, submission, mailbox))
    assert (
        await client.delete(f"/api/accounts/{account['id']}", headers=headers)
    ).status_code == 202
    async with mail_runtime.db.session() as session:
        stored = await session.get(MailAccount, uuid.UUID(account["id"]))
        await service.mark_auth_required(session, mail_runtime, stored, "LOGIN refused")
    await drain_jobs(mail_runtime)
    assert await load(mail_runtime, account["id"]) is None
    async with mail_runtime.db.session() as session:
        assert (await session.scalars(select(Notification))).first() is None
