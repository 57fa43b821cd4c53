"""Attachment uploads: size limits per file, per mail and per request; purging unused ones."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from mailmind.compose import service
from mailmind.kit.time import utcnow
from mailmind.models import Attachment
from mailmind.runtime import Runtime
from tests.compose.conftest import Sender
from tests.conftest import assert_error

MB = 1024 * 1024


async def upload(
    client: httpx.AsyncClient, sender: Sender, data: bytes, name: str = "file.bin"
) -> httpx.Response:
    return await client.post(
        "/api/attachments",
        files={"file": (name, data, "application/octet-stream")},
        headers=sender.headers,
    )


async def test_upload_returns_the_file_facts(client: httpx.AsyncClient, sender: Sender) -> None:
    response = await upload(client, sender, b"hello", name="../../etc/Report 2026.pdf")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["filename"] == "Report 2026.pdf"
    assert body["size"] == 5
    assert body["content_type"] == "application/octet-stream"
    uuid.UUID(body["id"])


async def test_a_file_over_10_mb_is_refused(client: httpx.AsyncClient, sender: Sender) -> None:
    at_limit = await upload(client, sender, b"\0" * (10 * MB))
    assert at_limit.status_code == 201, at_limit.text
    response = await upload(client, sender, b"\0" * (10 * MB + 1))
    assert_error(response, 400, "EMAIL005")


async def test_a_request_too_large_for_any_mail_is_refused(
    client: httpx.AsyncClient, sender: Sender
) -> None:
    response = await upload(client, sender, b"\0" * (service.MAX_UPLOAD_REQUEST_BYTES + 1))
    assert_error(response, 413, "VAL006")


async def test_a_mail_over_25_mb_is_refused(client: httpx.AsyncClient, sender: Sender) -> None:
    ids = []
    for _ in range(3):
        response = await upload(client, sender, b"\0" * (9 * MB))
        ids.append(response.json()["id"])
    response = await client.post(
        "/api/emails",
        json={
            "account_id": str(sender.account.id),
            "to": ["bob@example.org"],
            "subject": "Big",
            "body_text": "",
            "attachment_ids": ids,
        },
        headers=sender.headers,
    )
    assert_error(response, 400, "EMAIL005")


async def test_another_users_upload_cannot_be_attached(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender
) -> None:
    from tests.compose.conftest import signed_in

    _, mallory = await signed_in(client, runtime, "mallory@example.com")
    theirs = await client.post(
        "/api/attachments", files={"file": ("x.txt", b"x", "text/plain")}, headers=mallory
    )
    response = await client.post(
        "/api/emails",
        json={
            "account_id": str(sender.account.id),
            "to": ["bob@example.org"],
            "attachment_ids": [theirs.json()["id"]],
        },
        headers=sender.headers,
    )
    assert_error(response, 404, "RES001")


async def test_unused_uploads_are_purged_after_a_day(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender
) -> None:
    old = (await upload(client, sender, b"old")).json()["id"]
    fresh = (await upload(client, sender, b"fresh")).json()["id"]
    used = (await upload(client, sender, b"used")).json()["id"]
    created = await client.post(
        "/api/drafts",
        json={"account_id": str(sender.account.id), "attachment_ids": [used]},
        headers=sender.headers,
    )
    assert created.status_code == 201, created.text
    async with runtime.db.session() as session:
        await session.execute(
            update(Attachment)
            .where(Attachment.id.in_([uuid.UUID(old), uuid.UUID(used)]))
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    from mailmind.compose.tasks import purge_uploads

    await purge_uploads(runtime)
    async with runtime.db.session() as session:
        left = set((await session.scalars(select(Attachment.id))).all())
    assert left == {uuid.UUID(fresh), uuid.UUID(used)}
