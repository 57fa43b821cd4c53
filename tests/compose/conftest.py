"""Fixtures of the sending tests: a signed-in user with an IMAP account on the test Dovecot whose
SMTP server is an aiosmtpd that records what it receives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from mailmind.account.tokens import seal_secret
from mailmind.mailbox.repository import get_or_create_folder
from mailmind.message.ingest import IncomingMessage, ingest_batch
from mailmind.models import MailAccount
from mailmind.runtime import Runtime
from tests.compose.servers import SmtpTestServer, run_smtp
from tests.conftest import bearer, create_user, login
from tests.mailservers import DovecotServer, MailUser


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpTestServer]:
    """An SMTP server with AUTH (any password unless ``handler.credentials`` says otherwise)."""
    with run_smtp(Path(tmp_path_factory.mktemp("smtp")), auth=True) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_smtp(smtp: SmtpTestServer) -> None:
    smtp.handler.reset()


@dataclass
class Sender:
    """A signed-in user and their IMAP account."""

    user_id: uuid.UUID
    email: str
    headers: dict[str, str]
    account: MailAccount
    mail_user: MailUser


async def create_account(
    runtime: Runtime,
    user_id: uuid.UUID,
    *,
    email: str,
    smtp: SmtpTestServer,
    dovecot: DovecotServer,
    mail_user: MailUser,
    display_name: str = "",
    kind: str = "imap",
) -> MailAccount:
    account = MailAccount(
        id=uuid.uuid4(),
        user_id=user_id,
        kind=kind,
        email=email,
        display_name=display_name,
        imap_host="127.0.0.1",
        imap_port=dovecot.imap_port,
        imap_security="none",
        imap_username=mail_user.username,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_username=mail_user.username,
        sync_state="idle",
        sync_settings={},
    )
    seal_secret(runtime, account, {"password": mail_user.password})
    async with runtime.db.session() as session:
        session.add(account)
    return account


async def signed_in(
    client: httpx.AsyncClient, runtime: Runtime, email: str
) -> tuple[Any, dict[str, str]]:
    user = await create_user(runtime, email)
    token = (await login(client, email))["access_token"]
    return user, bearer(token)


@pytest.fixture
async def sender(
    client: httpx.AsyncClient,
    runtime: Runtime,
    smtp: SmtpTestServer,
    dovecot: DovecotServer,
    mail_user: MailUser,
) -> Sender:
    user, headers = await signed_in(client, runtime, "alice.owner@example.com")
    account = await create_account(
        runtime,
        user.id,
        email="alice@example.com",
        display_name="Alice Example",
        smtp=smtp,
        dovecot=dovecot,
        mail_user=mail_user,
    )
    return Sender(user.id, "alice@example.com", headers, account, mail_user)


def incoming(
    *,
    subject: str = "Plans",
    sender: str = "Bob <bob@example.org>",
    to: str = "alice@example.com",
    cc: str | None = None,
    reply_to: str | None = None,
    message_id: str | None = None,
    references: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = "Thu, 26 Nov 2026 10:00:00 +0000"
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@example.org>"
    if references:
        message["References"] = references
    message.set_content("Shall we meet on Friday?\n")
    if attachment:
        name, data = attachment
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message.as_bytes()


async def receive(runtime: Runtime, account: MailAccount, raw: bytes, uid: int = 1) -> uuid.UUID:
    """Store ``raw`` in the account's INBOX as the sync would."""
    async with runtime.db.session() as session:
        inbox = await get_or_create_folder(
            session, account, path="INBOX", name="INBOX", role="inbox"
        )
        result = await ingest_batch(
            session,
            runtime,
            account=account,
            folder=inbox,
            items=[IncomingMessage(raw=raw, uid=uid, uidvalidity=1)],
            notify=False,
        )
    [stored] = result.stored
    return stored
