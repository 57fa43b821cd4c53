"""Replies and forwards: recipients, subjects, threading headers, attachments, ownership."""

from __future__ import annotations

import uuid

import httpx

from mailmind.models import Message
from mailmind.runtime import Runtime
from tests.compose.conftest import Sender, create_account, incoming, receive, signed_in
from tests.compose.servers import SmtpTestServer
from tests.conftest import assert_error, drain_jobs
from tests.mailservers import DovecotServer


async def load(runtime: Runtime, message_id: uuid.UUID | str) -> Message:
    async with runtime.db.session() as session:
        message = await session.get(Message, uuid.UUID(str(message_id)))
        assert message is not None
        return message


async def test_reply_sets_in_reply_to_references_and_one_re(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    parent_id = await receive(
        runtime,
        sender.account,
        incoming(
            subject="AW: Re: Plans for Friday",
            message_id="<p2@example.org>",
            references="<root@example.org> <p1@example.org>",
        ),
    )
    response = await client.post(
        f"/api/emails/{parent_id}/reply",
        json={"body_text": "Friday works."},
        headers=sender.headers,
    )
    assert response.status_code == 202, response.text
    await drain_jobs(runtime)

    [got] = smtp.handler.received
    assert got.message["Subject"] == "Re: Plans for Friday"
    assert got.message["In-Reply-To"] == "<p2@example.org>"
    assert got.message["References"] == "<root@example.org> <p1@example.org> <p2@example.org>"
    assert got.message["To"] == "Bob <bob@example.org>"
    assert got.recipients == ["bob@example.org"]

    parent = await load(runtime, parent_id)
    sent = await load(runtime, response.json()["email_id"])
    assert parent.is_answered is True
    assert sent.thread_id == parent.thread_id is not None


async def test_reply_goes_to_reply_to_when_set(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    parent_id = await receive(
        runtime, sender.account, incoming(reply_to="Team <team@example.org>", subject="Re: x")
    )
    response = await client.post(
        f"/api/emails/{parent_id}/reply", json={"body_text": "ok"}, headers=sender.headers
    )
    assert response.status_code == 202
    await drain_jobs(runtime)
    [got] = smtp.handler.received
    assert got.recipients == ["team@example.org"]
    assert got.message["Subject"] == "Re: x"


async def test_reply_all_leaves_out_own_addresses(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    parent_id = await receive(
        runtime,
        sender.account,
        incoming(
            to="Alice <ALICE@example.com>, Carol <carol@example.net>",
            cc="dave@example.com, alice@example.com, bob@example.org",
        ),
    )
    response = await client.post(
        f"/api/emails/{parent_id}/reply",
        json={"reply_all": True, "body_text": "All of you."},
        headers=sender.headers,
    )
    assert response.status_code == 202
    await drain_jobs(runtime)

    [got] = smtp.handler.received
    assert got.message["To"] == "Bob <bob@example.org>, Carol <carol@example.net>"
    assert got.message["Cc"] == "dave@example.com"
    assert sorted(got.recipients) == ["bob@example.org", "carol@example.net", "dave@example.com"]


async def test_forward_keeps_the_attachments(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    pdf = b"%PDF-1.4 quarterly numbers\n" * 50
    parent_id = await receive(
        runtime,
        sender.account,
        incoming(subject="Fwd: Quarterly report", attachment=("report.pdf", pdf)),
    )
    response = await client.post(
        f"/api/emails/{parent_id}/forward",
        json={"to": ["erin@example.org"], "body_text": "FYI", "include_attachments": True},
        headers=sender.headers,
    )
    assert response.status_code == 202, response.text
    await drain_jobs(runtime)

    [got] = smtp.handler.received
    assert got.message["Subject"] == "Fwd: Quarterly report"
    [part] = list(got.message.iter_attachments())
    assert part.get_filename() == "report.pdf"
    assert part.get_content() == pdf
    text = got.message.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert body.startswith("FYI") and "Forwarded message" in body
    assert "Shall we meet on Friday?" in body


async def test_forward_without_attachments(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    parent_id = await receive(
        runtime, sender.account, incoming(attachment=("report.pdf", b"%PDF-1.4"))
    )
    response = await client.post(
        f"/api/emails/{parent_id}/forward",
        json={"to": ["erin@example.org"], "body_text": "", "include_attachments": False},
        headers=sender.headers,
    )
    assert response.status_code == 202
    await drain_jobs(runtime)
    [got] = smtp.handler.received
    assert list(got.message.iter_attachments()) == []


async def test_cannot_reply_to_or_send_from_another_users_mail(
    client: httpx.AsyncClient,
    runtime: Runtime,
    sender: Sender,
    smtp: SmtpTestServer,
    dovecot: DovecotServer,
) -> None:
    parent_id = await receive(runtime, sender.account, incoming())
    mallory, headers = await signed_in(client, runtime, "mallory@example.com")
    own = await create_account(
        runtime,
        mallory.id,
        email="mallory@example.com",
        smtp=smtp,
        dovecot=dovecot,
        mail_user=dovecot.add_user(),
    )

    reply = await client.post(
        f"/api/emails/{parent_id}/reply", json={"body_text": "hi"}, headers=headers
    )
    assert_error(reply, 404, "RES001")
    forward = await client.post(
        f"/api/emails/{parent_id}/forward", json={"to": ["m@example.org"]}, headers=headers
    )
    assert_error(forward, 404, "RES001")
    # Replying from one's own account to someone else's message changes nothing.
    reply_from_own = await client.post(
        f"/api/emails/{parent_id}/reply",
        json={"body_text": "hi", "account_id": str(own.id)},
        headers=headers,
    )
    assert_error(reply_from_own, 404, "RES001")
    await drain_jobs(runtime)
    assert smtp.handler.received == []
