"""Accounts tests: Dovecot for IMAP, an aiosmtpd submission server with STARTTLS and AUTH, and a
runtime that trusts the test CA for mail servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from mailmind.runtime import Runtime
from tests.conftest import app_for, bearer, create_user, login, make_client, runtime_with
from tests.mailservers import DovecotServer, MailUser
from tests.submission import SubmissionServer


@pytest.fixture(scope="session")
def submission(dovecot: DovecotServer) -> Iterator[SubmissionServer]:
    certs = dovecot.certificates
    server = SubmissionServer(certfile=str(certs.cert_file), keyfile=str(certs.key_file))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mail_runtime(runtime: Runtime, dovecot: DovecotServer) -> Runtime:
    """The test runtime, trusting the CA that signed Dovecot's and aiosmtpd's certificates."""
    return runtime_with(runtime, mail_ca_file=dovecot.ca_file)


@pytest.fixture(scope="session")
def mail_app(mail_runtime: Runtime) -> Any:
    return app_for(mail_runtime)


@pytest.fixture
async def client(mail_app: Any, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(mail_app) as c:
        yield c


@pytest.fixture
def mailbox(dovecot: DovecotServer, submission: SubmissionServer) -> MailUser:
    """A mailbox whose IMAP and SMTP logins are the same (name, password)."""
    user = dovecot.add_user()
    submission.logins[user.username] = user.password
    return user


async def signed_in(client: httpx.AsyncClient, runtime: Runtime) -> tuple[Any, dict[str, str]]:
    user = await create_user(runtime)
    token = (await login(client, user.email))["access_token"]
    return user, bearer(token)


def account_body(
    dovecot: DovecotServer,
    submission: SubmissionServer,
    user: MailUser,
    *,
    email: str | None = None,
    password: str | None = None,
    imap_port: int | None = None,
    smtp_port: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "kind": "imap",
        "email": email or f"{user.username}@example.org",
        "display_name": "Work",
        "imap": {
            "host": "127.0.0.1",
            "port": imap_port or dovecot.imaps_port,
            "security": "ssl",
            "username": user.username,
        },
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp_port or submission.port,
            "security": "starttls",
            "username": user.username,
        },
        "password": password or user.password,
        **extra,
    }
