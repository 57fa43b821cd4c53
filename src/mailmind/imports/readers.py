"""Streaming readers for mail files: mbox (mboxo and mboxrd), a single .eml, a .zip of .eml files.

Every reader yields one :class:`RawMessage` at a time and never holds more than one message (at
most ``max_message_bytes``) plus one read block, so a file of any size is read in constant
memory. A message larger than the cap is reported with ``error="too_large"`` and no bytes.

Each message carries ``next_position``: reading again from that position continues with the next
message, which is how an interrupted import resumes (a byte offset in an mbox, the local header
offset of the next member in a zip).

mbox (RFC 4155 and the mboxo/mboxrd variants): a message starts at a line beginning with
``From `` at the start of the file or after an empty line; the empty line belongs to the
separator. ``From `` lines elsewhere stay in the body. Lines matching ``>+From `` lose one ``>``
(mboxrd unquoting; for mboxo this restores the usual ``From `` quoting). LF and CRLF files are
both read as they are.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

MailFileKind = Literal["mbox", "eml", "zip"]

BLOCK_SIZE = 1 << 20
SNIFF_BYTES = 64 * 1024
# An mbox "From " separator line longer than this is not an mbox but binary noise.
MAX_SEPARATOR_LINE = 64 * 1024

TOO_LARGE = "too_large"
UNREADABLE = "unreadable"

# A separator preceded by its empty line (LF or CRLF); the match starts at the newline that
# ends the message's last line.
_SEPARATOR = re.compile(rb"\n\r?\nFrom ")
_OVERLAP = len(b"\n\r\nFrom ") - 1
_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
_HEADER_LINE = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:")
# Header names that only mail has; a text file with a "Note:" line is not a message.
_MAIL_HEADERS = frozenset(
    {
        b"from",
        b"to",
        b"cc",
        b"subject",
        b"date",
        b"message-id",
        b"received",
        b"return-path",
        b"mime-version",
        b"delivered-to",
        b"reply-to",
        b"sender",
        b"in-reply-to",
        b"references",
        b"content-type",
        b"dkim-signature",
        b"x-mailer",
    }
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class MailFileError(Exception):
    """The file is not a readable mbox, .eml or zip of .eml files."""


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message as found in the file.

    ``raw`` is empty when ``error`` is set (``"too_large"`` or ``"unreadable"``); ``size`` is the
    message's size in the file; ``position`` is where it starts and ``next_position`` where
    reading resumes after it; ``name`` is the zip member's name.
    """

    raw: bytes
    size: int
    position: int
    next_position: int
    error: str | None = None
    name: str | None = None


def sniff(head: bytes) -> MailFileKind | None:
    """The kind of mail file whose first bytes are ``head`` (up to 64 KiB), by content only."""
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    text = head.lstrip(b"\r\n")
    if text.startswith(b"From "):
        return "mbox"
    if _looks_like_message(text):
        return "eml"
    return None


def _looks_like_message(text: bytes) -> bool:
    """RFC 5322 header fields up to the first empty line (or the end of ``text``), at least one
    of them a mail header."""
    if not text or b"\x00" in text[:SNIFF_BYTES]:
        return False
    lines = text[:SNIFF_BYTES].split(b"\n")
    if len(text) >= SNIFF_BYTES or not text.endswith(b"\n"):
        lines = lines[:-1]  # the last line may be cut off
    names: set[bytes] = set()
    for index, line in enumerate(lines):
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t") and index > 0:
            continue
        match = _HEADER_LINE.match(line)
        if match is None:
            return False
        names.add(match.group(1).lower())
    return bool(names & _MAIL_HEADERS)


def detect_kind(path: Path) -> MailFileKind:
    """The kind of the file at ``path``; :class:`MailFileError` when it is none of them."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    kind = sniff(head)
    if kind is None:
        raise MailFileError("The file is not an mbox, .eml or zip of .eml files")
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as archive:
                if not _eml_members(archive):
                    raise MailFileError("The zip file contains no .eml files")
        except zipfile.BadZipFile as exc:
            raise MailFileError("The zip file is damaged") from exc
    return kind


def iter_messages(
    path: Path, kind: MailFileKind, *, max_message_bytes: int, start: int = 0
) -> Generator[RawMessage, None, None]:
    """The messages of the file at ``path`` from position ``start`` on."""
    if kind == "mbox":
        return iter_mbox(path, max_message_bytes=max_message_bytes, start=start)
    if kind == "zip":
        return iter_zip(path, max_message_bytes=max_message_bytes, start=start)
    return iter_eml(path, max_message_bytes=max_message_bytes, start=start)


def count_messages(path: Path, kind: MailFileKind, *, max_message_bytes: int) -> int:
    """How many messages :func:`iter_messages` yields from the start (a full streaming pass for
    an mbox, the central directory for a zip)."""
    if kind == "eml":
        return 1
    if kind == "zip":
        with zipfile.ZipFile(path) as archive:
            return len(_eml_members(archive))
    return sum(1 for _ in iter_mbox(path, max_message_bytes=max_message_bytes))


def iter_eml(
    path: Path, *, max_message_bytes: int, start: int = 0
) -> Generator[RawMessage, None, None]:
    """The one message of an .eml file (nothing when resuming past it)."""
    if start > 0:
        return
    with path.open("rb") as handle:
        data = handle.read(max_message_bytes + 1)
        size = handle.seek(0, 2)
    if size > max_message_bytes:
        yield RawMessage(b"", size, 0, size, error=TOO_LARGE)
    else:
        yield RawMessage(data, size, 0, size)


def _eml_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The .eml members in file order; macOS resource forks (``__MACOSX/``, ``._name``) and
    everything else are skipped."""
    members = []
    for info in archive.infolist():
        name = info.filename.replace("\\", "/")
        parts = name.split("/")
        if info.is_dir() or "__MACOSX" in parts or parts[-1].startswith("._"):
            continue
        if name.lower().endswith(".eml"):
            members.append(info)
    members.sort(key=lambda info: info.header_offset)
    return members


def iter_zip(
    path: Path, *, max_message_bytes: int, start: int = 0
) -> Generator[RawMessage, None, None]:
    """The .eml members of a zip (any directory depth), decompressed one at a time.

    Positions are member header offsets, so resuming at ``next_position`` skips every member
    already read. A member that is encrypted or fails its CRC is reported ``unreadable``.
    """
    with zipfile.ZipFile(path) as archive:
        for info in _eml_members(archive):
            if info.header_offset < start:
                continue
            position, next_position = info.header_offset, info.header_offset + 1
            if info.file_size > max_message_bytes:
                yield RawMessage(
                    b"", info.file_size, position, next_position, TOO_LARGE, info.filename
                )
                continue
            try:
                with archive.open(info) as member:
                    # The declared size may lie (zip bombs): never read past the cap.
                    data = member.read(max_message_bytes + 1)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError):
                yield RawMessage(
                    b"", info.file_size, position, next_position, UNREADABLE, info.filename
                )
                continue
            if len(data) > max_message_bytes:
                yield RawMessage(b"", len(data), position, next_position, TOO_LARGE, info.filename)
            elif data.strip():
                yield RawMessage(data, len(data), position, next_position, None, info.filename)


def iter_mbox(
    path: Path, *, max_message_bytes: int, start: int = 0, block_size: int = BLOCK_SIZE
) -> Generator[RawMessage, None, None]:
    """The messages of an mbox file from byte offset ``start`` (a separator line, or the end)."""
    with path.open("rb", buffering=0) as handle:
        handle.seek(start)
        yield from scan_mbox(
            handle, start=start, max_message_bytes=max_message_bytes, block_size=block_size
        )


def scan_mbox(
    handle: BinaryIO, *, start: int = 0, max_message_bytes: int, block_size: int = BLOCK_SIZE
) -> Generator[RawMessage, None, None]:
    """:func:`iter_mbox` over an open binary stream positioned at ``start``.

    The buffer holds the current message (up to the cap) and one block; past the cap only the
    last few bytes are kept so that a separator straddling two blocks is still found.
    """
    if max_message_bytes <= _OVERLAP or block_size < 1:
        raise ValueError("max_message_bytes and block_size are too small")
    buf = bytearray()
    base = start  # file offset of buf[0]
    eof = False

    def fill() -> None:
        nonlocal eof
        block = handle.read(block_size)
        if block:
            buf.extend(block)
        else:
            eof = True

    # Some exporters put empty lines before the first separator.
    while True:
        if not buf:
            fill()
            if eof:
                return
        stripped = len(buf) - len(buf.lstrip(b"\r\n"))
        if stripped < len(buf):
            del buf[:stripped]
            base += stripped
            break
        base += len(buf)
        buf.clear()
    while len(buf) < 5 and not eof:
        fill()
    if not buf.startswith(b"From "):
        raise MailFileError(f"No mbox 'From ' separator at byte {base}")

    cur = 0  # buf index of the current separator line
    while True:
        position = base + cur
        newline = buf.find(b"\n", cur)
        while newline < 0:
            if len(buf) - cur > MAX_SEPARATOR_LINE:
                raise MailFileError(f"The mbox separator line at byte {position} never ends")
            del buf[:cur]
            base += cur
            cur = 0
            if eof:
                return  # a separator line without a message at the end of the file
            fill()
            newline = buf.find(b"\n")
        body = newline + 1
        # The separator line's own newline may start "\n\nFrom ": an empty message.
        search = newline
        dropped = 0
        too_large = False
        while True:
            match = _SEPARATOR.search(buf, search)
            if match is not None:
                end, cur = match.start() + 1, match.end() - 5
                next_position = base + cur
            elif eof:
                end = len(buf)
                if buf.endswith(b"\n\r\n"):
                    end -= 2
                elif buf.endswith(b"\n\n"):
                    end -= 1
                next_position = base + len(buf)
            else:
                search = max(search, len(buf) - _OVERLAP)
                # The buffer's tail may be the next separator's empty line and "From".
                if not too_large and len(buf) - body > max_message_bytes + _OVERLAP:
                    too_large = True
                if too_large:
                    keep = max(body, len(buf) - _OVERLAP)
                    dropped += keep - body
                    body = keep
                # Keep only the message being read (or its tail when it is too large), and
                # the separator line's newline while a "\n\nFrom " can still start there.
                shift = min(body, search)
                del buf[:shift]
                base += shift
                body -= shift
                search -= shift
                fill()
                continue
            size = dropped + max(0, end - body)
            if too_large or size > max_message_bytes:
                yield RawMessage(b"", size, position, next_position, TOO_LARGE)
            elif size:
                raw = bytes(buf[body:end])
                if b">From " in raw:
                    raw = _QUOTED_FROM.sub(rb"\1", raw)
                if raw.strip():
                    yield RawMessage(raw, size, position, next_position)
            if match is None:
                return
            break
