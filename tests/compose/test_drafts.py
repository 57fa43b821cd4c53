"""Drafts on the server: create, edit, list, delete, send."""

from __future__ import annotations

import httpx

from mailmind.runtime import Runtime
from tests.compose.conftest import Sender, incoming, receive, signed_in
from tests.compose.servers import SmtpTestServer
from tests.conftest import assert_error, drain_jobs


def draft(sender: Sender, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "account_id": str(sender.account.id),
        "to": ["Bob <bob@example.org>"],
        "subject": "Draft",
        "body_text": "Half written",
    }
    body.update(extra)
    return body


async def upload(client: httpx.AsyncClient, sender: Sender, name: str, data: bytes) -> str:
    response = await client.post(
        "/api/attachments",
        files={"file": (name, data, "text/plain")},
        headers=sender.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_draft_lifecycle(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    notes = await upload(client, sender, "notes.txt", b"first notes")
    created = await client.post(
        "/api/drafts", json=draft(sender, to=["not yet an address"]), headers=sender.headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    draft_id = body["id"]
    assert body["send_status"] == "draft"
    assert body["to"] == [{"name": "", "address": "not yet an address"}]  # kept as typed

    updated = await client.put(
        f"/api/drafts/{draft_id}",
        json=draft(sender, subject="Final", attachment_ids=[notes]),
        headers=sender.headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["subject"] == "Final"
    assert [a["filename"] for a in updated.json()["attachments"]] == ["notes.txt"]

    listed = await client.get("/api/drafts", headers=sender.headers)
    assert [d["id"] for d in listed.json()] == [draft_id]

    sent = await client.post(f"/api/drafts/{draft_id}/send", headers=sender.headers)
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"email_id": draft_id, "send_status": "queued"}
    await drain_jobs(runtime)

    [got] = smtp.handler.received
    assert got.message["Subject"] == "Final"
    [part] = list(got.message.iter_attachments())
    assert part.get_filename() == "notes.txt"
    assert part.get_content() == "first notes"

    edit_sent = await client.put(
        f"/api/drafts/{draft_id}", json=draft(sender), headers=sender.headers
    )
    assert_error(edit_sent, 409, "RES003")
    delete_sent = await client.delete(f"/api/drafts/{draft_id}", headers=sender.headers)
    assert_error(delete_sent, 409, "RES003")


async def test_sending_a_draft_checks_its_recipients(
    client: httpx.AsyncClient, sender: Sender
) -> None:
    created = await client.post(
        "/api/drafts",
        json=draft(sender, to=["bob@", "Carol <carol@example.net>"]),
        headers=sender.headers,
    )
    response = await client.post(f"/api/drafts/{created.json()['id']}/send", headers=sender.headers)
    error = assert_error(response, 400, "EMAIL003")
    assert error["details"]["invalid"] == ["bob@"]


async def test_reply_draft_knows_its_original(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    parent_id = await receive(runtime, sender.account, incoming(message_id="<orig@example.org>"))
    created = await client.post(
        "/api/drafts",
        json=draft(sender, subject="Re: Plans", in_reply_to_id=str(parent_id)),
        headers=sender.headers,
    )
    assert created.json()["in_reply_to_id"] == str(parent_id)
    await client.post(f"/api/drafts/{created.json()['id']}/send", headers=sender.headers)
    await drain_jobs(runtime)
    [got] = smtp.handler.received
    assert got.message["In-Reply-To"] == "<orig@example.org>"


async def test_deleted_draft_is_gone(client: httpx.AsyncClient, sender: Sender) -> None:
    created = await client.post("/api/drafts", json=draft(sender), headers=sender.headers)
    draft_id = created.json()["id"]
    deleted = await client.delete(f"/api/drafts/{draft_id}", headers=sender.headers)
    assert deleted.status_code == 204
    assert_error(await client.get(f"/api/drafts/{draft_id}", headers=sender.headers), 404, "RES001")


async def test_another_users_draft_is_not_found(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender
) -> None:
    created = await client.post("/api/drafts", json=draft(sender), headers=sender.headers)
    draft_id = created.json()["id"]
    _, mallory = await signed_in(client, runtime, "mallory@example.com")
    for response in (
        await client.get(f"/api/drafts/{draft_id}", headers=mallory),
        await client.put(f"/api/drafts/{draft_id}", json=draft(sender), headers=mallory),
        await client.post(f"/api/drafts/{draft_id}/send", headers=mallory),
        await client.delete(f"/api/drafts/{draft_id}", headers=mallory),
        await client.delete(f"/api/emails/{draft_id}/schedule", headers=mallory),
    ):
        assert_error(response, 404, "RES001")
    assert (await client.get(f"/api/drafts/{draft_id}", headers=sender.headers)).status_code == 200
