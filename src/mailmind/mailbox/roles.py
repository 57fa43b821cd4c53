"""Which role a folder plays: from its SPECIAL-USE flag (RFC 6154), else from its name in English
or German (and the usual variants of common providers)."""

from __future__ import annotations

from collections.abc import Iterable

SPECIAL_USE_ROLES = {
    "\\sent": "sent",
    "\\drafts": "drafts",
    "\\archive": "archive",
    "\\all": "archive",
    "\\trash": "trash",
    "\\junk": "spam",
}

NAME_ROLES = {
    "inbox": "inbox",
    "posteingang": "inbox",
    "sent": "sent",
    "sent items": "sent",
    "sent mail": "sent",
    "sent messages": "sent",
    "gesendet": "sent",
    "gesendete elemente": "sent",
    "gesendete objekte": "sent",
    "drafts": "drafts",
    "draft": "drafts",
    "entwürfe": "drafts",
    "entwurf": "drafts",
    "archive": "archive",
    "archives": "archive",
    "archiv": "archive",
    "all mail": "archive",
    "alle nachrichten": "archive",
    "trash": "trash",
    "deleted items": "trash",
    "deleted messages": "trash",
    "bin": "trash",
    "papierkorb": "trash",
    "gelöschte elemente": "trash",
    "gelöschte objekte": "trash",
    "spam": "spam",
    "junk": "spam",
    "junk e-mail": "spam",
    "junk email": "spam",
    "bulk mail": "spam",
    "junk-e-mail": "spam",
}

# Sync order of §2.3: INBOX first, then the folders a user reads, Spam and Trash last.
SYNC_ORDER = {"inbox": 0, "sent": 1, "drafts": 2, "archive": 3, "custom": 4, "spam": 5, "trash": 6}


def role_for(path: str, flags: Iterable[str] = (), delimiter: str | None = "/") -> str:
    """The folder role for an IMAP mailbox ``path`` with its LIST ``flags``."""
    for flag in flags:
        role = SPECIAL_USE_ROLES.get(flag.lower())
        if role:
            return role
    if path.upper() == "INBOX":
        return "inbox"
    name = path.rsplit(delimiter, 1)[-1] if delimiter else path
    # Gmail puts its system folders under "[Gmail]/" (or "[Google Mail]/").
    return NAME_ROLES.get(name.strip().lower(), "custom")
