"""Builders of real mail files for the import tests: messages from the ``email`` package's
generator, mbox files with mboxrd quoting, .eml files and zips."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime
from io import BytesIO
from pathlib import Path

SEPARATOR = "From sender@example.com Sat Jan  3 01:05:34 2026"
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


def make_message(
    index: int,
    *,
    body: str | None = None,
    subject: str | None = None,
    message_id: bool = True,
    attachment: bytes | None = None,
    domain: str = "example.com",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Sender {index % 7} <sender{index % 7}@{domain}>"
    message["To"] = "Owner <owner@example.org>"
    message["Subject"] = subject if subject is not None else f"Message number {index}"
    message["Date"] = format_datetime(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=index))
    if message_id:
        message["Message-ID"] = f"<import-{index}@{domain}>"
    message.set_content(body if body is not None else f"Hello,\n\nthis is message {index}.\n")
    if attachment is not None:
        message.add_attachment(
            attachment, maintype="application", subtype="octet-stream", filename="data.bin"
        )
    return message


def to_bytes(message: EmailMessage, linesep: str = "\n") -> bytes:
    out = BytesIO()
    BytesGenerator(out, policy=policy.default.clone(linesep=linesep)).flatten(message)
    return out.getvalue()


def mboxrd_quote(raw: bytes) -> bytes:
    return _FROM_LINE.sub(rb">\1", raw)


def mbox_bytes(messages: Iterable[bytes], *, linesep: str = "\n", quote: bool = True) -> bytes:
    """An mbox: separator line, the (mboxrd-quoted) message, an empty line."""
    sep = linesep.encode()
    parts = []
    for raw in messages:
        if not raw.endswith(sep):
            raw += sep
        parts.append(SEPARATOR.encode() + sep + (mboxrd_quote(raw) if quote else raw) + sep)
    return b"".join(parts)


def write_mbox(path: Path, messages: Iterable[bytes], **options: object) -> Path:
    path.write_bytes(mbox_bytes(messages, **options))  # type: ignore[arg-type]
    return path


def write_zip(path: Path, members: Sequence[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path
