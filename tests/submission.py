"""An SMTP submission server for the mail tests: aiosmtpd on 127.0.0.1 that requires STARTTLS
before AUTH, with its own logins, presenting a certificate of the test CA (Dovecot's), and
recording what it accepted.

Shared by tests/account/ (the login check when an account is added) and tests/e2e/ (the web
client's replies)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.services import free_port


@dataclass
class SubmissionServer:
    """aiosmtpd on 127.0.0.1 requiring STARTTLS before AUTH, with its own logins."""

    certfile: str
    keyfile: str
    logins: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    # (envelope sender, envelope recipients, message) of every accepted mail, oldest first.
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    def __post_init__(self) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certfile, self.keyfile)
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            authenticator=self._authenticate,
            auth_required=True,
            auth_require_tls=True,
        )
        self.controller.start()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self.logins.get(user) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append(
            (envelope.mail_from, list(envelope.rcpt_tos), cast(EmailMessage, message))
        )
        return "250 OK"

    def stop(self) -> None:
        self.controller.stop()
