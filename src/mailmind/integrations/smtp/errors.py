"""The SMTP adapter's error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from mailmind.integrations.errors import MailAdapterError

SmtpReason = Literal["dns", "connect", "tls", "auth", "timeout", "recipients", "protocol"]


class SmtpError(MailAdapterError):
    """The SMTP server could not be reached or refused the login or the message.

    ``reason``: ``dns`` (host unknown), ``connect`` (refused or dropped connection, refusing
    greeting), ``tls`` (no STARTTLS offered, handshake or certificate failure), ``auth`` (login
    refused or impossible), ``timeout``, ``recipients`` (the server refused the addresses in
    ``invalid``; nothing was sent), ``protocol`` (the sender or the message was refused, or an
    unexpected answer). ``transient`` follows the reply code: 4xx may succeed later, 5xx will not
    until something changes. ``maybe_delivered`` is set when the connection failed after the
    message was transferred but before the server answered: it may have been accepted, so
    sending it again may deliver it twice.
    """

    reason: SmtpReason

    def __init__(
        self,
        reason: SmtpReason,
        message: str,
        *,
        transient: bool,
        invalid: Sequence[str] = (),
        code: int | None = None,
    ) -> None:
        super().__init__(reason, message, transient=transient)
        self.reason = reason
        self.invalid: list[str] = list(invalid)
        self.code = code
        self.maybe_delivered = False
