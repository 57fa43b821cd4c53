"""What the IMAP adapter takes and returns: plain dataclasses, free of imapclient types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Security = Literal["ssl", "starttls", "none"]


@dataclass(frozen=True)
class ImapConfig:
    """How to reach and log in to one IMAP account.

    ``security``: ``"ssl"`` is implicit TLS (port 993), ``"starttls"`` upgrades a plain
    connection (port 143) before logging in, ``"none"`` never encrypts. Certificates are verified
    against the system CAs plus ``ca_file`` when given. With ``access_token`` the login is
    SASL XOAUTH2 instead of LOGIN with ``password``. ``timeout`` (seconds) bounds connecting and
    every single read or write, not a whole command."""

    host: str
    port: int
    security: Security
    username: str
    password: str | None = None
    access_token: str | None = None
    timeout: float = 20.0
    ca_file: str | None = None

    def __repr__(self) -> str:
        # Secrets stay out of logs and tracebacks.
        return (
            f"ImapConfig(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username={self.username!r}, timeout={self.timeout})"
        )


@dataclass
class RemoteFolder:
    """A mailbox from LIST: full ``path`` (decoded from modified UTF-7), last segment ``name``,
    hierarchy ``delimiter``, LIST ``flags`` (``\\HasChildren``, ``\\Sent``, …), the RFC 6154
    ``special_use`` flag if any, and whether it can be selected (no ``\\Noselect``)."""

    path: str
    name: str
    delimiter: str | None
    flags: tuple[str, ...]
    special_use: str | None
    selectable: bool


@dataclass
class FolderStatus:
    """The state SELECT reports: ``highestmodseq`` only when the server does CONDSTORE."""

    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int | None
    new_keywords: bool = True  # PERMANENTFLAGS has \* (or is absent): keywords can be added


@dataclass
class FetchedMessage:
    """One message as fetched: its exact bytes, flags, INTERNALDATE (timezone-aware),
    RFC822.SIZE and MODSEQ (CONDSTORE servers only)."""

    uid: int
    flags: tuple[str, ...]
    internal_date: datetime | None
    size: int
    raw: bytes
    modseq: int | None


@dataclass
class FlagState:
    """The flags of one message, with its MODSEQ on CONDSTORE servers."""

    uid: int
    flags: tuple[str, ...]
    modseq: int | None
