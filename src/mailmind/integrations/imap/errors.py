"""The IMAP adapter's error."""

from __future__ import annotations

from typing import Literal

from mailmind.integrations.errors import MailAdapterError

ImapReason = Literal["dns", "connect", "tls", "auth", "timeout", "protocol", "folder"]


class ImapError(MailAdapterError):
    """An IMAP operation failed.

    ``reason``: ``dns`` (host not resolved), ``connect`` (refused, unreachable, or the
    connection dropped), ``tls`` (handshake or certificate), ``auth`` (LOGIN/AUTHENTICATE
    refused; not transient), ``timeout``, ``protocol`` (the server answered NO/BAD or something
    unexpected), ``folder`` (a mailbox does not exist or cannot be created, renamed or deleted).
    ``transient`` is True where retrying the same call later may succeed."""

    reason: ImapReason

    def __init__(self, reason: ImapReason, message: str, *, transient: bool) -> None:
        super().__init__(reason, message, transient=transient)
        self.reason = reason
