"""aiosmtpd servers with what the shared ``smtp_server`` fixture lacks: AUTH (PLAIN, LOGIN and
XOAUTH2), STARTTLS or implicit TLS with a test CA, and recipients the server refuses."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.mailservers import Certificates, make_certificates
from tests.services import free_port

USERNAME = "alice@example.test"
PASSWORD = "correct horse battery staple"
ACCESS_TOKEN = "ya29.test-access-token"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: Message
    raw: bytes


@dataclass
class Handler:
    """Records what it receives; refuses RCPT for addresses in ``refuse`` (code per address)."""

    refuse: dict[str, int] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    # Accepted logins (username -> password); None accepts any password.
    credentials: dict[str, str] | None = field(default_factory=lambda: {USERNAME: PASSWORD})

    def reset(self) -> None:
        self.refuse.clear()
        self.received.clear()
        self.logins.clear()
        self.credentials = None

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        code = self.refuse.get(address.lower())
        if code is not None:
            return f"{code} {'4.2.1 Try later' if code < 500 else '5.1.1 No such user'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = bytes(envelope.original_content)
        self.received.append(
            Received(
                sender=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
                message=message_from_bytes(raw, policy=policy.default),
                raw=raw,
            )
        )
        return "250 OK queued"

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:  # noqa: N802
        # https://developers.google.com/gmail/imap/xoauth2-protocol
        decoded = base64.b64decode(args[1]).decode()
        fields = dict(part.split("=", 1) for part in decoded.split("\x01") if part)
        ok = fields.get("user") == USERNAME and fields.get("auth") == f"Bearer {ACCESS_TOKEN}"
        if ok:
            self.logins.append("XOAUTH2")
        return AuthResult(success=ok, handled=False)


def _authenticator(handler: Handler) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            login, password = data.login.decode(), data.password.decode()
            known = handler.credentials
            ok = known is None or known.get(login) == password
            if ok:
                handler.logins.append(mechanism)
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)

    return check


@dataclass
class SmtpTestServer:
    host: str
    port: int
    handler: Handler
    certificates: Certificates | None

    @property
    def ca_file(self) -> str | None:
        return str(self.certificates.ca_file) if self.certificates else None


@contextmanager
def run_smtp(
    tmp: Path,
    *,
    tls: Literal["none", "starttls", "ssl"] = "none",
    auth: bool = False,
    handler: Handler | None = None,
) -> Iterator[SmtpTestServer]:
    """An aiosmtpd server on a free loopback port, stopped on exit."""
    handler = handler or Handler()
    certs = make_certificates(tmp / "certs") if tls != "none" else None
    context = None
    if certs is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certs.cert_file, certs.key_file)
    port = free_port()
    kwargs: dict[str, Any] = {}
    if auth:
        # aiosmtpd only knows about STARTTLS: with implicit TLS it would hide AUTH.
        kwargs.update(authenticator=_authenticator(handler), auth_require_tls=tls == "starttls")
    if tls == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        ssl_context=context if tls == "ssl" else None,
        server_hostname="localhost",
        **kwargs,
    )
    controller.start()
    try:
        yield SmtpTestServer("127.0.0.1", port, handler, certs)
    finally:
        controller.stop()
