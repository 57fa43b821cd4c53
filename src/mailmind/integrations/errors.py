"""The error every mail-server adapter raises: what went wrong, and whether retrying can help."""

from __future__ import annotations

from typing import Literal

Reason = Literal[
    "dns", "connect", "tls", "auth", "timeout", "protocol", "folder", "recipients", "size"
]


class MailAdapterError(Exception):
    """A mail server refused or failed an operation.

    ``reason`` is one of the spec's ``details.reason`` values (dns, connect, tls, auth, timeout) or
    a finer one (protocol, folder, recipients, size). ``transient`` says whether the same call may
    succeed later (a dropped connection) or not until something changes (a wrong password).
    """

    def __init__(self, reason: Reason, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.message = message
        self.transient = transient
