"""Scheduled sending: deferred jobs, rescheduling and cancelling."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from mailmind.models import Message
from mailmind.runtime import Runtime
from tests.compose.conftest import Sender
from tests.compose.servers import SmtpTestServer
from tests.conftest import assert_error, drain_jobs


def mail(sender: Sender, send_at: datetime | None) -> dict[str, object]:
    return {
        "account_id": str(sender.account.id),
        "to": ["bob@example.org"],
        "subject": "Later",
        "body_text": "Sent later.",
        "send_at": send_at.isoformat() if send_at else None,
    }


async def send_jobs(runtime: Runtime) -> list[tuple[str, datetime | None, dict[str, object]]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT status::text, scheduled_at, args FROM procrastinate_jobs "
                "WHERE task_name = 'compose.send' ORDER BY id"
            )
        )
        return [(r[0], r[1], r[2]) for r in rows]


async def make_due(runtime: Runtime) -> None:
    """What the clock would do: every waiting send job is due now."""
    async with runtime.db.session() as session:
        await session.execute(
            text(
                "UPDATE procrastinate_jobs SET scheduled_at = now() - interval '1 second' "
                "WHERE status = 'todo'"
            )
        )


async def status_of(runtime: Runtime, email_id: str) -> str | None:
    async with runtime.db.session() as session:
        message = await session.get(Message, uuid.UUID(email_id))
        assert message is not None
        return message.send_status


async def test_scheduled_send_is_a_deferred_job(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    send_at = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    response = await client.post("/api/emails", json=mail(sender, send_at), headers=sender.headers)
    assert response.status_code == 202, response.text
    assert response.json()["send_status"] == "scheduled"
    email_id = response.json()["email_id"]

    [(status, scheduled_at, args)] = await send_jobs(runtime)
    assert status == "todo"
    assert scheduled_at == send_at
    assert args["message_id"] == email_id

    await drain_jobs(runtime)  # not due yet
    assert smtp.handler.received == []
    assert await status_of(runtime, email_id) == "scheduled"

    await make_due(runtime)
    await drain_jobs(runtime)
    assert len(smtp.handler.received) == 1
    assert await status_of(runtime, email_id) == "sent"


async def test_send_at_must_be_a_minute_to_a_year_ahead(
    client: httpx.AsyncClient, sender: Sender
) -> None:
    now = datetime.now(UTC)
    for when in (now + timedelta(seconds=20), now + timedelta(days=367), now - timedelta(hours=1)):
        response = await client.post("/api/emails", json=mail(sender, when), headers=sender.headers)
        assert_error(response, 400, "VAL003")


async def test_cancelled_schedule_is_a_draft_again_and_not_sent(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    send_at = datetime.now(UTC) + timedelta(hours=1)
    response = await client.post("/api/emails", json=mail(sender, send_at), headers=sender.headers)
    email_id = response.json()["email_id"]

    cancel = await client.delete(f"/api/emails/{email_id}/schedule", headers=sender.headers)
    assert cancel.status_code == 200, cancel.text
    assert cancel.json() == {"email_id": email_id, "send_status": "draft"}
    again = await client.delete(f"/api/emails/{email_id}/schedule", headers=sender.headers)
    assert_error(again, 409, "RES003")

    await make_due(runtime)
    await drain_jobs(runtime)
    assert smtp.handler.received == []
    assert await status_of(runtime, email_id) == "draft"
    draft = await client.get(f"/api/drafts/{email_id}", headers=sender.headers)
    assert draft.json()["send_status"] == "draft" and draft.json()["send_at"] is None


async def test_rescheduled_message_is_sent_once_at_the_new_time(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    first = datetime.now(UTC) + timedelta(hours=1)
    response = await client.post("/api/emails", json=mail(sender, first), headers=sender.headers)
    email_id = response.json()["email_id"]
    later = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    moved = await client.patch(
        f"/api/emails/{email_id}/schedule",
        json={"send_at": later.isoformat()},
        headers=sender.headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["send_status"] == "scheduled"
    jobs = await send_jobs(runtime)
    assert [j[1] for j in jobs][-1] == later

    await make_due(runtime)  # both the old and the new job run now
    await drain_jobs(runtime)
    assert len(smtp.handler.received) == 1
    assert await status_of(runtime, email_id) == "sent"


async def test_schedule_of_a_sent_message_is_a_conflict(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender
) -> None:
    response = await client.post("/api/emails", json=mail(sender, None), headers=sender.headers)
    email_id = response.json()["email_id"]
    await drain_jobs(runtime)
    later = datetime.now(UTC) + timedelta(hours=3)
    patch = await client.patch(
        f"/api/emails/{email_id}/schedule",
        json={"send_at": later.isoformat()},
        headers=sender.headers,
    )
    assert_error(patch, 409, "RES003")
    cancel = await client.delete(f"/api/emails/{email_id}/schedule", headers=sender.headers)
    assert_error(cancel, 409, "RES003")
