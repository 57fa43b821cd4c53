"""What the SMTP adapter needs to reach a server, and the interface senders implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

SmtpSecurity = Literal["ssl", "starttls", "none"]


@dataclass(frozen=True)
class SmtpConfig:
    """One SMTP submission server and the credentials for it.

    ``security``: ``ssl`` is implicit TLS (port 465), ``starttls`` upgrades a plain connection and
    refuses to continue when the server does not offer it (port 587), ``none`` sends everything,
    credentials included, in the clear (only for servers on a trusted network; the account
    service allows it only with ``ALLOW_INSECURE_MAIL``). With ``access_token`` the login is
    XOAUTH2 (Gmail, Microsoft 365), otherwise AUTH PLAIN/LOGIN with ``password``; with neither
    the adapter does not authenticate. ``ca_file`` adds a trusted CA (a self-signed server).
    """

    host: str
    port: int
    security: SmtpSecurity
    username: str
    password: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    timeout: float = 20.0
    ca_file: str | None = None


class MailSender(Protocol):
    """The signature of :func:`mailmind.integrations.smtp.send_message`."""

    async def __call__(
        self, config: SmtpConfig, *, sender: str, recipients: Sequence[str], raw: bytes
    ) -> None: ...
