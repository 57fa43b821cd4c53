"""IMAP adapter: imapclient run in one dedicated thread per connection, behind an async API.

``async with open_imap(config) as conn: ...`` gives an :class:`ImapConnection`;
:func:`check_imap_login` proves a configuration works. Every failure is an :class:`ImapError`.
"""

from mailmind.integrations.imap.base import (
    FetchedMessage,
    FlagState,
    FolderStatus,
    ImapConfig,
    RemoteFolder,
    Security,
)
from mailmind.integrations.imap.client import ImapConnection, check_imap_login, open_imap
from mailmind.integrations.imap.errors import ImapError, ImapReason

__all__ = [
    "FetchedMessage",
    "FlagState",
    "FolderStatus",
    "ImapConfig",
    "ImapConnection",
    "ImapError",
    "ImapReason",
    "RemoteFolder",
    "Security",
    "check_imap_login",
    "open_imap",
]
