"""Sending a new message: what arrives, what is stored, and what is refused."""

from __future__ import annotations

import re
import uuid
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy import select, text

from mailmind.models import Folder, Message, Notification
from mailmind.runtime import Runtime
from tests.compose.conftest import Sender
from tests.compose.servers import SmtpTestServer
from tests.conftest import assert_error, drain_jobs
from tests.mailservers import DovecotServer


def new_mail(sender: Sender, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "account_id": str(sender.account.id),
        "to": ["Bob Builder <bob@example.org>"],
        "subject": "Grüße aus Köln",
        "body_text": "Hallo Bob,\nbis Freitag.\n",
    }
    body.update(extra)
    return body


async def stored(runtime: Runtime, email_id: str) -> Message:
    async with runtime.db.session() as session:
        message = await session.get(Message, uuid.UUID(email_id))
        assert message is not None
        return message


async def test_send_arrives_with_headers_and_moves_to_sent(
    client: httpx.AsyncClient,
    runtime: Runtime,
    sender: Sender,
    smtp: SmtpTestServer,
    dovecot: DovecotServer,
) -> None:
    response = await client.post(
        "/api/emails",
        json=new_mail(
            sender,
            cc=["carol@example.net"],
            bcc=["dave@example.com"],
            body_html="<p>Hallo <b>Bob</b></p><script>alert(1)</script>",
        ),
        headers=sender.headers,
    )
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["send_status"] == "queued"
    assert smtp.handler.received == []  # sent by the job, not the request

    await drain_jobs(runtime)

    [got] = smtp.handler.received
    mail = got.message
    assert got.sender == "alice@example.com"
    assert sorted(got.recipients) == ["bob@example.org", "carol@example.net", "dave@example.com"]
    assert mail["From"] == "Alice Example <alice@example.com>"
    assert mail["To"] == "Bob Builder <bob@example.org>"
    assert mail["Cc"] == "carol@example.net"
    assert mail["Bcc"] is None and b"dave@example.com" not in got.raw
    assert mail["Subject"] == "Grüße aus Köln"
    assert re.fullmatch(r"<[^@<>]+@example\.com>", mail["Message-ID"])
    assert parsedate_to_datetime(mail["Date"]).tzinfo is not None
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None
    assert plain.get_content().replace("\r\n", "\n") == "Hallo Bob,\nbis Freitag.\n"
    assert html is not None and "<b>Bob</b>" in html.get_content()
    assert "script" not in html.get_content()

    message = await stored(runtime, answer["email_id"])
    assert message.send_status == "sent"
    assert message.message_id_header == mail["Message-ID"].strip("<>")
    async with runtime.db.session() as session:
        folder = await session.get(Folder, message.folder_id)
    assert folder is not None and folder.role == "sent"

    # A plain IMAP server does not file what goes through SMTP: the copy was APPENDed.
    with dovecot.client(sender.mail_user) as imap:
        imap.select_folder("Sent", readonly=True)
        uids = imap.search(["HEADER", "Message-ID", mail["Message-ID"]])
        assert len(uids) == 1
        assert b"\\Seen" in imap.get_flags(uids)[uids[0]]
    assert message.uid == uids[0]


async def test_invalid_recipients_are_listed(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender
) -> None:
    response = await client.post(
        "/api/emails",
        json=new_mail(sender, to=["bob@example.org", "not an address"], cc=["x@"]),
        headers=sender.headers,
    )
    error = assert_error(response, 400, "EMAIL003")
    assert error["details"]["invalid"] == ["not an address", "x@"]
    async with runtime.db.session() as session:
        assert (await session.scalars(select(Message))).all() == []


async def test_recipient_count_is_limited(client: httpx.AsyncClient, sender: Sender) -> None:
    none = await client.post("/api/emails", json=new_mail(sender, to=[]), headers=sender.headers)
    assert_error(none, 400, "EMAIL003")
    many = [f"r{i}@example.org" for i in range(101)]
    response = await client.post(
        "/api/emails", json=new_mail(sender, to=many), headers=sender.headers
    )
    assert_error(response, 400, "EMAIL003")


async def test_eleventh_send_in_a_minute_is_rate_limited(
    client: httpx.AsyncClient, sender: Sender
) -> None:
    for _ in range(10):
        response = await client.post("/api/emails", json=new_mail(sender), headers=sender.headers)
        assert response.status_code == 202, response.text
    response = await client.post("/api/emails", json=new_mail(sender), headers=sender.headers)
    error = assert_error(response, 429, "RATE001")
    assert error["details"]["limit"] == "send"
    assert int(response.headers["Retry-After"]) >= 1


async def test_idempotency_key_sends_once(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    headers = {**sender.headers, "Idempotency-Key": "send-7f3a"}
    first = await client.post("/api/emails", json=new_mail(sender), headers=headers)
    again = await client.post("/api/emails", json=new_mail(sender), headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()

    other = await client.post(
        "/api/emails", json=new_mail(sender, subject="Something else"), headers=headers
    )
    assert_error(other, 409, "RES003")

    await drain_jobs(runtime)
    assert len(smtp.handler.received) == 1


async def test_a_job_run_again_after_sending_sends_nothing(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    response = await client.post("/api/emails", json=new_mail(sender), headers=sender.headers)
    email_id = response.json()["email_id"]
    await drain_jobs(runtime)
    assert len(smtp.handler.received) == 1

    from mailmind.jobs.queue import defer

    async with runtime.db.session() as session:
        await defer(session, "compose.send", lock="send:x", message_id=email_id, send_at=None)
    await drain_jobs(runtime)
    assert len(smtp.handler.received) == 1
    assert (await stored(runtime, email_id)).send_status == "sent"


async def test_a_message_left_in_sending_is_not_sent_again(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    """A worker stopped after handing the message over: the next run cannot know whether the
    server took it, so it fails the message for the user to decide instead of resending."""
    response = await client.post("/api/emails", json=new_mail(sender), headers=sender.headers)
    email_id = response.json()["email_id"]
    async with runtime.db.session() as session:
        await session.execute(
            text("UPDATE messages SET send_status = 'sending' WHERE id = :id"), {"id": email_id}
        )
    await drain_jobs(runtime)

    assert smtp.handler.received == []
    message = await stored(runtime, email_id)
    assert message.send_status == "failed"
    assert message.send_error and "may or may not have been delivered" in message.send_error
    async with runtime.db.session() as session:
        notes = (await session.scalars(select(Notification))).all()
    assert [(n.type, n.message_id) for n in notes] == [("send_failed", message.id)]


async def test_smtp_login_failure_fails_the_send(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    smtp.handler.credentials = {sender.mail_user.username: "another password"}
    response = await client.post("/api/emails", json=new_mail(sender), headers=sender.headers)
    email_id = response.json()["email_id"]
    await drain_jobs(runtime)

    assert smtp.handler.received == []
    message = await stored(runtime, email_id)
    assert message.send_status == "failed"
    assert message.send_error and "did not accept" in message.send_error
    async with runtime.db.session() as session:
        folder = await session.get(Folder, message.folder_id)
        types = set((await session.scalars(select(Notification.type))).all())
        from mailmind.models import MailAccount

        account = await session.get(MailAccount, sender.account.id)
    assert folder is not None and folder.role == "drafts"  # the draft is kept
    assert "send_failed" in types
    assert account is not None and account.sync_state == "auth_required"


async def test_a_refused_recipient_fails_after_the_retries(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender, smtp: SmtpTestServer
) -> None:
    smtp.handler.refuse["busy@example.org"] = 450
    response = await client.post(
        "/api/emails",
        json=new_mail(sender, to=["bob@example.org", "busy@example.org"]),
        headers=sender.headers,
    )
    email_id = response.json()["email_id"]
    await drain_jobs(runtime)

    assert smtp.handler.received == []  # bob got nothing either
    message = await stored(runtime, email_id)
    assert message.send_status == "failed"
    assert message.send_error and "busy@example.org" in message.send_error
    async with runtime.db.session() as session:
        attempts = await session.scalar(
            text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'compose.send'")
        )
    assert attempts == 1 + runtime.settings.job_retry_attempts


async def test_another_users_account_is_not_found(
    client: httpx.AsyncClient, runtime: Runtime, sender: Sender
) -> None:
    from tests.compose.conftest import signed_in

    _, mallory = await signed_in(client, runtime, "mallory@example.com")
    response = await client.post("/api/emails", json=new_mail(sender), headers=mallory)
    assert_error(response, 404, "RES001")


async def test_gmail_files_its_own_sent_copy(
    client: httpx.AsyncClient,
    runtime: Runtime,
    smtp: SmtpTestServer,
    dovecot: DovecotServer,
) -> None:
    from tests.compose.conftest import create_account, signed_in

    user, headers = await signed_in(client, runtime, "gina@example.com")
    account = await create_account(
        runtime,
        user.id,
        email="gina@gmail.example.com",
        kind="gmail",
        smtp=smtp,
        dovecot=dovecot,
        mail_user=dovecot.add_user(),
    )
    response = await client.post(
        "/api/emails",
        json={"account_id": str(account.id), "to": ["bob@example.org"], "subject": "Hi"},
        headers=headers,
    )
    email_id = response.json()["email_id"]
    await drain_jobs(runtime)

    assert len(smtp.handler.received) == 1
    message = await stored(runtime, email_id)
    assert message.send_status == "sent" and message.uid is None
    async with runtime.db.session() as session:
        appends = await session.scalar(
            text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'compose.append_sent'")
        )
    assert appends == 0
