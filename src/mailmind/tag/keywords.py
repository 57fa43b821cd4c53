"""Tags as IMAP keywords, so other mail clients of the same mailbox see them.

A keyword is an IMAP atom (RFC 3501 ``flag-keyword``): ASCII without spaces, brackets, braces,
quotes, ``%``, ``*`` or ``\\``. A tag path keeps its ``/`` hierarchy; non-ASCII letters are
written in modified UTF-7 (as mailbox names are, ``Büro`` → ``B&APw-ro``), the characters an
atom cannot hold become ``_``, and a path longer than servers keep (Dovecot's
``mail_max_keyword_length`` is 50) is shortened with a hash of the whole path, so two long tags
never share a keyword.
"""

from __future__ import annotations

import hashlib
import re

from imapclient import imap_utf7  # type: ignore[import-untyped]

MAX_LENGTH = 50
_NOT_ATOM = re.compile(r'[\x00-\x20\x7f(){}%*"\\\]]')


def imap_keyword(path: str) -> str:
    """The IMAP keyword of the tag ``path``."""
    keyword = _NOT_ATOM.sub("_", imap_utf7.encode(path).decode("ascii"))
    if len(keyword) > MAX_LENGTH:
        digest = hashlib.sha256(path.encode()).hexdigest()[:8]
        keyword = f"{keyword[: MAX_LENGTH - 9]}_{digest}"
    return keyword
