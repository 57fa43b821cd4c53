"""Raw RFC 5322 bytes → :class:`ParsedMessage`, for the sync engine and the importer alike.

Mail in the wild lies about its charsets, loses MIME boundaries and arrives truncated, so
:func:`parse_message` never raises: every step degrades to whatever could be decoded and notes
what went wrong in ``ParsedMessage.defects`` (our own ``snake_case`` codes plus the class names
of the ``email`` package's defects). ``parse_error`` is set only when nothing usable came out.

The standard library ``email`` package does the MIME work with ``policy.default``; where that
policy's header parser raises, the same data is read again with ``compat32`` semantics.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import hashlib
import mimetypes
import quopri
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import feedparser
from email import policy as email_policy
from email import utils as email_utils
from email.header import decode_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from typing import TypeVar

from mailmind.message.sanitize import html_to_text, sanitize_html

__all__ = [
    "SAFE_HEADERS",
    "Address",
    "CalendarInfo",
    "ParsedAttachment",
    "ParsedMessage",
    "decode_header_text",
    "decode_text",
    "parse_calendar",
    "parse_message",
]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox: display name (may be empty) and address with a lowercased domain."""

    name: str
    address: str


@dataclass(frozen=True, slots=True)
class ParsedAttachment:
    """One non-body MIME part, decoded from its transfer encoding.

    ``filename`` is always set: the decoded name with any path removed, or a name made from the
    content type (``attachment-2.pdf``); nested messages are named after their subject.
    """

    filename: str
    content_type: str
    size: int
    sha256: str
    content_id: str | None
    is_inline: bool
    content: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """What a calendar invite says, read from the first VEVENT of a text/calendar part.

    ``dtstart`` is a ``date`` for all-day events, a UTC-aware ``datetime`` for UTC times or a
    known ``TZID``, and a naive ``datetime`` for floating times or unknown time zones.
    """

    method: str | None
    summary: str | None
    dtstart: datetime | date | None
    organizer: Address | None
    uid: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """Everything the product reads from one raw message. Built only by :func:`parse_message`.

    Ids (``message_id``, ``in_reply_to``, ``references``) have their angle brackets stripped.
    ``sender`` is the first From address (else Sender). ``date`` is UTC-aware. ``headers`` holds
    the decoded :data:`SAFE_HEADERS` present, by lowercase name. ``body_text`` is the text/plain
    part(s), else text derived from the HTML; ``body_html`` is sanitised (``cid:`` images left as
    ``data-cid`` for :func:`~mailmind.message.sanitize.sanitize_html` to resolve later).
    ``language`` comes from Content-Language. Every ``str`` is free of NUL and lone surrogates.
    """

    size: int
    raw_sha256: str
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    subject: str = ""
    sender: Address | None = None
    reply_to: list[Address] = field(default_factory=list)
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    date: datetime | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body_text: str = ""
    body_html: str | None = None
    has_remote_images: bool = False
    attachments: list[ParsedAttachment] = field(default_factory=list)
    has_calendar: bool = False
    calendar: CalendarInfo | None = None
    language: str | None = None
    defects: list[str] = field(default_factory=list)
    parse_error: str | None = None


# Headers kept verbatim (decoded) for rules, unsubscribe and auto-reply detection.
SAFE_HEADERS = (
    *("list-unsubscribe", "list-unsubscribe-post", "list-id", "list-post", "list-archive"),
    *("list-help", "precedence", "auto-submitted", "x-auto-response-suppress", "x-autoreply"),
    *("x-mailer", "user-agent", "content-language", "return-path", "organization"),
    *("importance", "priority", "x-priority", "x-msmail-priority", "feedback-id"),
    *("x-spam-flag", "x-spam-status", "delivered-to", "sender", "thread-topic", "thread-index"),
)
_MAX_HEADER_CHARS = 4096
_MAX_DECODED_HEADER_CHARS = 16_384
_MAX_ADDRESS_HEADER_CHARS = 100_000
_MAX_DEPTH = 60
_MAX_CALENDAR_CHARS = 1_000_000


# --- text decoding ---------------------------------------------------------------------------


def _latin1_rest(error: UnicodeError) -> tuple[str, int]:
    # The five bytes cp1252 leaves undefined keep their Latin-1 meaning instead of vanishing.
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


def _cp1252_rest(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return chunk.decode("cp1252", "mailmind-latin1"), error.end


codecs.register_error("mailmind-latin1", _latin1_rest)
codecs.register_error("mailmind-cp1252", _cp1252_rest)

_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_C1 = re.compile(rb"[\x80-\x9f]")
# Codecs that are not charsets (or not safe to apply to mail text).
_NOT_CHARSETS = frozenset(
    {"idna", "punycode", "raw-unicode-escape", "unicode-escape", "undefined", "mbcs", "oem"}
)
_CHARSET_ALIASES = {
    "unicode-1-1-utf-7": "utf-7",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "x-user-defined": "cp1252",
    "ks_c_5601": "euc-kr",
    "x-sjis": "shift_jis",
    "x-euc-jp": "euc-jp",
    "gb_2312-80": "gb2312",
}


def _codec(label: str) -> str | None:
    """The Python codec for a declared charset label, or None when there is none."""
    candidates = [label, _CHARSET_ALIASES.get(label, label)]
    candidates.append(re.sub(r"^(cp|windows|ibm|ms)[-_ ]?(\d+)$", r"cp\2", label))
    if label.startswith("x-"):
        candidates.append(label[2:])
    for candidate in candidates:
        try:
            info = codecs.lookup(candidate)
        except Exception:  # noqa: S112 - LookupError, or ValueError/TypeError on odd labels
            continue
        name = info.name.replace("_", "-")
        if not getattr(info, "_is_text_encoding", True) or name in _NOT_CHARSETS:
            return None
        return info.name
    return None


@functools.lru_cache(maxsize=64)
def _single_byte(codec: str) -> bool:
    """Whether ``codec`` maps every byte to one character (the Latin-1 family, cp850, KOI8…)."""
    try:
        return len(bytes(range(256)).decode(codec, "replace")) == 256 and codec != "utf-8"
    except Exception:
        return False


def _fallback_decode(data: bytes) -> tuple[str, str]:
    """utf-8, then utf-8 with stray bytes read as cp1252, then cp1252; never loses a byte."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _UTF8_MULTIBYTE.search(data):
        return data.decode("utf-8", "mailmind-cp1252"), "utf-8+cp1252"
    return data.decode("cp1252", "mailmind-latin1"), "cp1252"


def decode_text(data: bytes, declared: str | None, defects: list[str]) -> str:
    """Decode body bytes with their declared charset, falling back as the module describes."""
    label = (declared or "").strip().strip("\"'").lower()[:60] or "us-ascii"
    codec = _codec(label)
    if codec is None and data.isascii():
        return _clean_text(data.decode("ascii"))
    if codec is not None and not data.isascii() and _single_byte(codec):
        # A declared single-byte charset is very often UTF-8 or windows-1252 in disguise: valid
        # UTF-8 multibyte text is almost never meant as Latin-1 or cp850, and C1 controls in
        # "iso-8859-1" text are windows-1252 punctuation, never control characters.
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            defects.append(f"charset_fallback:{label}→utf-8")
            return _clean_text(text)
        if codec in ("latin-1", "iso8859-1") and _C1.search(data):
            defects.append(f"charset_fallback:{label}→cp1252")
            return _clean_text(data.decode("cp1252", "mailmind-latin1"))
    if codec is not None:
        try:
            return _clean_text(data.decode(codec))
        except Exception:  # noqa: S110 - any codec failure means "try the fallbacks"
            pass
    text, used = _fallback_decode(data)
    defects.append(f"charset_fallback:{label}→{used}")
    return _clean_text(text)


_SURROGATES = re.compile("[\udc80-\udcff]+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_C1_TEXT = re.compile("[\x80-\x9f]")


def _clean_text(text: str) -> str:
    """Text safe to store: no NUL (PostgreSQL rejects it) and no lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if _LONE_SURROGATE.search(text):
        text = _LONE_SURROGATE.sub("\ufffd", text)
    return text


def _decode_8bit_runs(text: str, defects: list[str], where: str) -> str:
    """Replace surrogate-escaped raw bytes (8-bit header text) with utf-8 or cp1252 text."""
    if not _SURROGATES.search(text):
        return text

    def repl(match: re.Match[str]) -> str:
        raw = match.group().encode("utf-8", "surrogateescape")
        decoded, used = _fallback_decode(raw)
        if used != "utf-8":
            defects.append(f"charset_fallback:us-ascii→{used}")
        return decoded

    defects.append(f"raw_8bit_header:{where}")
    return _SURROGATES.sub(repl, text)


def _fix_c1(text: str) -> str:
    # C1 controls in header text come from windows-1252 declared as iso-8859-1.
    if not _C1_TEXT.search(text):
        return text
    return _C1_TEXT.sub(lambda m: bytes([ord(m.group())]).decode("cp1252", "mailmind-latin1"), text)


# --- headers -----------------------------------------------------------------------------------

_FOLD = re.compile(r"\r\n|\r|\n")


def _unfold(value: str) -> str:
    return _FOLD.sub("", value)


def _compat32_decode(value: str, defects: list[str]) -> str:
    pieces: list[tuple[str, bool]] = []
    for chunk, charset in decode_header(value):
        if isinstance(chunk, str):
            pieces.append((chunk, False))
        elif charset is None:
            pieces.append((chunk.decode("ascii", "surrogateescape"), False))
        else:
            pieces.append((decode_text(chunk, charset, defects), True))
    out = ""
    previous_encoded = False
    for text, encoded in pieces:
        joined = not out or out[-1:].isspace() or text[:1].isspace()
        if not joined and not (encoded and previous_encoded):
            out += " "
        out += text
        previous_encoded = encoded
    return out


def decode_header_text(value: str, defects: list[str], name: str = "x-unstructured") -> str:
    """Decode one raw header value: unfold, raw 8-bit bytes, RFC 2047 encoded words."""
    text = _decode_8bit_runs(_unfold(value), defects, name)
    if len(text) > _MAX_DECODED_HEADER_CHARS:
        # The email package's header parser is quadratic in the number of encoded words.
        defects.append(f"header_truncated:{name}")
        text = text[:_MAX_DECODED_HEADER_CHARS].rsplit(" ", 1)[0]  # no half encoded word
    if "=?" in text:
        try:
            # Always parsed as unstructured: address and date headers are read elsewhere.
            header = email_policy.default.header_factory("x-unstructured", text)
            decoded = str(header)
            defects.extend(type(defect).__name__ for defect in header.defects)
        except Exception as exc:
            defects.append(f"header_parse_failed:{name}:{type(exc).__name__}")
            try:
                decoded = _compat32_decode(text, defects)
            except Exception:
                decoded = text
        text = _decode_8bit_runs(decoded, defects, name)
    return _clean_text(_fix_c1(text))


def _fold_ws(text: str) -> str:
    return " ".join(text.split())


class _Headers:
    """The raw header fields of one message, decoded lazily and leniently."""

    def __init__(self, msg: Message, defects: list[str]) -> None:
        self.defects = defects
        self.items: list[tuple[str, str]] = []
        try:
            for name, value in msg.raw_items():
                self.items.append((str(name).strip().lower(), str(value)))
        except Exception as exc:
            defects.append(f"headers_unreadable:{type(exc).__name__}")

    def raw(self, name: str) -> list[str]:
        values = [value for key, value in self.items if key == name]
        return [_clean_text(_decode_8bit_runs(_unfold(v), self.defects, name)) for v in values]

    def text(self, name: str) -> str | None:
        for key, value in self.items:
            if key == name:
                return decode_header_text(value, self.defects, name)
        return None


_MSGID = re.compile(r"<([^<>]*)>")


def _message_ids(value: str) -> list[str]:
    ids = ["".join(found.split()) for found in _MSGID.findall(value)]
    if not any(ids):
        ids = [token.strip("<>") for token in value.split()]
    return [i[:998] for i in ids if i]


def _dedupe(items: list[_T]) -> list[_T]:
    seen: set[_T] = set()
    out: list[_T] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _tidy_defects(defects: list[str]) -> list[str]:
    # Defects quote charset labels and encodings from the message itself.
    return _dedupe([_CONTROL.sub("?", _clean_text(d))[:200] for d in defects])


def _addresses(headers: _Headers, name: str) -> list[Address]:
    values = headers.raw(name)
    if not values:
        return []
    if sum(map(len, values)) > _MAX_ADDRESS_HEADER_CHARS:
        headers.defects.append(f"header_truncated:{name}")
        values = [v[:_MAX_ADDRESS_HEADER_CHARS] for v in values][:10]
    try:
        pairs = email_utils.getaddresses(values)
    except Exception as exc:
        headers.defects.append(f"address_parse_failed:{name}:{type(exc).__name__}")
        return []
    out: list[Address] = []
    for display, addr in pairs:
        addr = "".join(addr.split())
        local, at, domain = addr.rpartition("@")
        if not at or not local or not domain:
            if addr or display:
                headers.defects.append(f"invalid_address:{name}")
            continue
        label = _fold_ws(decode_header_text(display, headers.defects)) if display else ""
        out.append(Address(name=label, address=_clean_text(f"{local}@{domain.lower()}")))
    return out


def _parse_date(value: str | None, defects: list[str]) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        parsed = email_utils.parsedate_to_datetime(value)
    except Exception:
        parsed = None
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except Exception:
            defects.append("invalid_date")
            return None
    try:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        defects.append("invalid_date")
        return None


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")


def _language(value: str | None) -> str | None:
    if not value:
        return None
    first = value.split(",")[0].strip()
    return first if _LANGUAGE_TAG.fullmatch(first) else None


# --- MIME parts --------------------------------------------------------------------------------


def _attempt(part: Message, read: Callable[[Message], _T], default: _T) -> _T:
    """``read(part)`` with policy.default; if its header parser raises, again with compat32."""
    try:
        return read(part)
    except Exception:  # noqa: S110 - retried below with the lenient policy
        pass
    try:
        part.policy = email_policy.compat32
        return read(part)
    except Exception:
        return default


def _b64_lenient(data: bytes, defects: list[str]) -> bytes:
    """Base64 that survives junk characters, missing padding, truncation and concatenation."""
    compact = data.translate(None, b" \t\r\n")
    if len(compact) % 4 == 0 and b"=" not in compact[:-2]:
        try:
            return binascii.a2b_base64(compact, strict_mode=True)
        except (binascii.Error, ValueError):
            pass
    cleaned = re.sub(rb"[^A-Za-z0-9+/=]", b"", data)
    if len(cleaned) != len(re.sub(rb"\s", b"", data)):
        defects.append("base64_invalid_characters")
    out = bytearray()
    for segment in re.split(rb"=+", cleaned):
        if len(segment) % 4 == 1:
            defects.append("base64_truncated")
            segment = segment[:-1]
        if not segment:
            continue
        try:
            out += codecs.decode(segment + b"=" * (-len(segment) % 4), "base64")
        except Exception:
            defects.append("base64_undecodable")
    if cleaned and not cleaned.endswith(b"=") and len(cleaned) % 4:
        defects.append("base64_truncated")
    return bytes(out)


def _raw_payload(part: Message) -> bytes:
    # The stored payload, not get_payload(): that decodes 8-bit text with the declared charset
    # and errors="replace" before we get a chance to notice the charset lies.
    payload = getattr(part, "_payload", None)
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    if isinstance(payload, bytes):
        return payload
    return b""


def _transfer_decoded(part: Message, defects: list[str]) -> bytes:
    raw = _raw_payload(part)
    cte = _attempt(part, lambda p: str(p.get("content-transfer-encoding", "")), "")
    cte = cte.strip().strip("\"'").lower()
    if cte == "base64":
        return _b64_lenient(raw, defects)
    if cte == "quoted-printable":
        try:
            return quopri.decodestring(raw)
        except Exception:
            defects.append("quoted_printable_undecodable")
            return raw
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        try:
            decoded = part.get_payload(decode=True)
            return decoded if isinstance(decoded, bytes) else raw
        except Exception:
            defects.append("uuencode_undecodable")
            return raw
    if cte not in ("", "7bit", "8bit", "binary"):
        defects.append(f"unknown_transfer_encoding:{cte[:40]}")
    return raw


def _content_type(part: Message) -> str:
    ctype = _attempt(part, lambda p: p.get_content_type(), "text/plain").lower()
    return ctype if re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", ctype) else "text/plain"


_PATH_JUNK = re.compile(r"[\x00-\x1f\x7f]")


def _safe_filename(name: str | None, defects: list[str]) -> str | None:
    if not name:
        return None
    text = decode_header_text(name, defects, "x-filename") if "=?" in name else name
    text = _clean_text(_decode_8bit_runs(text, defects, "filename"))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _PATH_JUNK.sub("", text).strip().lstrip(".").strip()
    return text[:255] or None


def _default_filename(ctype: str, index: int) -> str:
    ext = mimetypes.guess_extension(ctype, strict=False) or ".bin"
    return f"attachment-{index}{ext}"


_HTML_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)


# --- calendar ----------------------------------------------------------------------------------


def _split_ics_line(line: str) -> tuple[str, dict[str, str], str] | None:
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            head, value = line[:i], line[i + 1 :]
            break
    else:
        return None
    name, *raw_params = re.split(r';(?=(?:[^"]*"[^"]*")*[^"]*$)', head)
    params: dict[str, str] = {}
    for raw in raw_params:
        key, _, val = raw.partition("=")
        params[key.strip().upper()] = val.strip().strip('"')
    return name.strip().upper(), params, value


def _ics_text(value: str) -> str:
    return re.sub(
        r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value
    ).strip()


def _ics_datetime(value: str, params: dict[str, str]) -> datetime | date | None:
    value = value.strip()
    try:
        if params.get("VALUE", "").upper() == "DATE" or re.fullmatch(r"\d{8}", value):
            return datetime.strptime(value[:8], "%Y%m%d").date()
        moment = datetime.strptime(value.rstrip("Zz")[:15], "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    if value.upper().endswith("Z"):
        return moment.replace(tzinfo=UTC)
    tzid = params.get("TZID")
    if tzid:
        try:
            return moment.replace(tzinfo=zoneinfo.ZoneInfo(tzid)).astimezone(UTC)
        except Exception:
            return moment
    return moment


def parse_calendar(text: str) -> CalendarInfo | None:
    """Read METHOD and the first VEVENT's SUMMARY, DTSTART, ORGANIZER, UID and LOCATION."""
    text = re.sub(r"\r?\n[ \t]", "", text[:_MAX_CALENDAR_CHARS])
    stack: list[str] = []
    found: dict[str, tuple[dict[str, str], str]] = {}
    method: str | None = None
    seen_event = False
    for line in text.splitlines():
        parsed = _split_ics_line(line)
        if parsed is None:
            continue
        name, params, value = parsed
        if name == "BEGIN":
            stack.append(value.strip().upper())
        elif name == "END":
            if stack and stack[-1] == "VEVENT":
                seen_event = True
            if stack:
                stack.pop()
        elif name == "METHOD" and stack[-1:] == ["VCALENDAR"]:
            method = value.strip().upper() or None
        elif stack[-1:] == ["VEVENT"] and not seen_event and name not in found:
            found[name] = (params, value)
    if method is None and not found:
        return None
    organizer = None
    if "ORGANIZER" in found:
        params, value = found["ORGANIZER"]
        addr = re.sub(r"^mailto:", "", value.strip(), flags=re.I)
        local, at, domain = addr.rpartition("@")
        if at and local and domain:
            organizer = Address(name=params.get("CN", ""), address=f"{local}@{domain.lower()}")

    def text_of(key: str) -> str | None:
        return _ics_text(found[key][1]) or None if key in found else None

    dtstart = None
    if "DTSTART" in found:
        dtstart = _ics_datetime(found["DTSTART"][1], found["DTSTART"][0])
    return CalendarInfo(
        method=method,
        summary=text_of("SUMMARY"),
        dtstart=dtstart,
        organizer=organizer,
        uid=text_of("UID"),
        location=text_of("LOCATION"),
    )


# --- the walk ----------------------------------------------------------------------------------


@dataclass
class _Bodies:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)

    def extend(self, other: _Bodies) -> None:
        self.texts.extend(other.texts)
        self.htmls.extend(other.htmls)


_BOUNDARY_LINE = re.compile(rb"^--([^\s\"\\]{1,200}?)(?:--)?[ \t]*\r?$", re.M)


class _BoundaryMatcher:
    """The matcher ``email.feedparser`` compiles for each MIME boundary, without compiling.

    The parser builds ``re.compile("(?P<sep>" + re.escape("--" + boundary) + tail)`` for every
    multipart. Boundaries are unique, so the ``re`` cache never hits, and each compile costs about
    0.35 ms: a sixth of preparing a typical message for storage. A literal prefix test and one
    shared compiled ``tail`` match exactly the same lines and give the same groups (``end``,
    ``linesep``), which is all the parser reads."""

    __slots__ = ("separator",)

    def __init__(self, separator: str) -> None:
        self.separator = separator

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self.separator):
            return None
        return _BOUNDARY_TAIL.match(line, len(self.separator))


_BOUNDARY_HEAD = "(?P<sep>"
_BOUNDARY_TAIL_SOURCE = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_BOUNDARY_TAIL = re.compile(_BOUNDARY_TAIL_SOURCE[1:])
_UNESCAPE = re.compile(r"\\(.)", re.S)


class _FeedparserRe:
    """``re`` as ``email.feedparser`` sees it: boundary patterns become :class:`_BoundaryMatcher`,
    anything else (another Python's parser, another pattern) is compiled as usual."""

    def __getattr__(self, name: str) -> object:
        return getattr(re, name)

    def compile(self, pattern: object, flags: int = 0) -> object:
        if (
            isinstance(pattern, str)
            and not flags
            and pattern.startswith(_BOUNDARY_HEAD)
            and pattern.endswith(_BOUNDARY_TAIL_SOURCE)
        ):
            escaped = pattern[len(_BOUNDARY_HEAD) : -len(_BOUNDARY_TAIL_SOURCE)]
            separator = _UNESCAPE.sub(r"\1", escaped)
            if re.escape(separator) == escaped:
                return _BoundaryMatcher(separator)
        return re.compile(pattern, flags)  # type: ignore[call-overload]


feedparser.__dict__["re"] = _FeedparserRe()
_HEADER_LINE = re.compile(rb"[!-9;-~]+:")


def _parse_bytes(raw: bytes, defects: list[str]) -> Message:
    # compat32, not policy.default: every header this module reads is decoded by its own lenient
    # code, and policy.default's header objects cost about a millisecond per MIME part — 20x the
    # rest of the parse, the difference between a sync at 50 and at 1,000 messages a second.
    try:
        return BytesParser(policy=email_policy.compat32).parsebytes(raw)
    except RecursionError:
        defects.append("nesting_too_deep")
    except Exception as exc:
        defects.append(f"mime_unparsed:{type(exc).__name__}")
    return BytesHeaderParser(policy=email_policy.compat32).parsebytes(raw)


class _Walker:
    def __init__(self, defects: list[str]) -> None:
        self.defects = defects
        self.attachments: list[ParsedAttachment] = []
        self.calendars: list[str] = []
        self.languages: list[str] = []
        self.too_deep = "nesting_too_deep" in defects

    def _note_defects(self, part: Message) -> None:
        self.defects.extend(type(defect).__name__ for defect in getattr(part, "defects", []))

    def walk(self, part: Message, depth: int = 0, *, resource: bool = False) -> _Bodies:
        if depth > _MAX_DEPTH:
            self.defects.append("nesting_too_deep")
            self.too_deep = True
            return _Bodies()
        self._note_defects(part)
        ctype = _content_type(part)
        maintype, _, subtype = ctype.partition("/")
        payload = getattr(part, "_payload", None)
        if isinstance(payload, list):
            if maintype != "multipart":
                self._nested_message(part, ctype, payload)
                return _Bodies()
            children = [child for child in payload if isinstance(child, Message)]
            return self._multipart(part, subtype, children, depth)
        if maintype == "multipart":
            recovered = None
            if not self.too_deep:
                recovered = self._recover_multipart(part, ctype)
            if recovered is not None:
                return self.walk(recovered, depth + 1, resource=resource)
            self.defects.append("multipart_without_parts")
            text = decode_text(_transfer_decoded(part, self.defects), None, self.defects)
            return _Bodies(texts=[text]) if text.strip() else _Bodies()
        if ctype == "message/rfc822":
            self._nested_message(part, ctype, None)
            return _Bodies()
        return self._leaf(part, ctype, resource=resource)

    def _multipart(
        self, part: Message, subtype: str, children: list[Message], depth: int
    ) -> _Bodies:
        if subtype == "alternative":
            results = [self.walk(child, depth + 1) for child in children]
            with_text = [r for r in results if r.texts]
            with_html = [r for r in results if r.htmls]
            return _Bodies(
                texts=with_text[0].texts if with_text else [],
                htmls=with_html[-1].htmls if with_html else [],
            )
        if subtype == "related" and children:
            start = _attempt(part, lambda p: p.get_param("start"), None)
            root = 0
            if isinstance(start, str):
                wanted = start.strip().strip("<>")
                for i, child in enumerate(children):
                    cid = str(_attempt(child, lambda p: p.get("content-id", ""), ""))
                    if cid.strip().strip("<>") == wanted:
                        root = i
            bodies = _Bodies()
            for i, child in enumerate(children):
                bodies.extend(self.walk(child, depth + 1, resource=i != root))
            return bodies
        bodies = _Bodies()
        for child in children:
            bodies.extend(self.walk(child, depth + 1))
        return bodies

    def _recover_multipart(self, part: Message, ctype: str) -> Message | None:
        """A multipart whose boundary was never found: look for the boundary actually used."""
        body = _raw_payload(part)
        declared = _attempt(part, lambda p: p.get_boundary(), None)
        for match in _BOUNDARY_LINE.finditer(body):
            candidate = match.group(1)
            if declared is not None and candidate == declared.encode("utf-8", "surrogateescape"):
                continue
            following = body[match.end() :].lstrip(b"\r\n")
            if not (_HEADER_LINE.match(following) or following[:1] in (b"\r", b"\n")):
                continue
            synthetic = b'Content-Type: %s; boundary="%s"\r\n\r\n' % (ctype.encode(), candidate)
            recovered = _parse_bytes(synthetic + body, [])
            payload = getattr(recovered, "_payload", None)
            if isinstance(payload, list) and payload:
                self.defects.append("boundary_recovered")
                return recovered
            return None
        return None

    def _leaf(self, part: Message, ctype: str, *, resource: bool) -> _Bodies:
        disposition = _attempt(part, lambda p: p.get_content_disposition(), None)
        raw_name = _attempt(part, lambda p: p.get_filename(), None)
        filename = _safe_filename(raw_name, self.defects)
        language = _language(_attempt(part, lambda p: str(p.get("content-language", "")), ""))
        if language:
            self.languages.append(language)
        body_candidate = (
            ctype in ("text/plain", "text/html")
            and disposition != "attachment"
            and filename is None
            and not resource
        )
        content = _transfer_decoded(part, self.defects)
        if body_candidate:
            charset = _attempt(part, lambda p: p.get_content_charset(), None)
            if ctype == "text/html" and charset is None:
                meta = _HTML_META_CHARSET.search(content[:4096])
                charset = meta.group(1).decode("ascii") if meta else None
            text = decode_text(content, charset, self.defects)
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            if ctype == "text/html":
                return _Bodies(htmls=[text])
            fmt = _attempt(part, lambda p: p.get_param("format"), None)
            if isinstance(fmt, str) and fmt.lower() == "flowed":
                delsp = _attempt(part, lambda p: p.get_param("delsp"), None)
                text = _unflow(text, delsp=isinstance(delsp, str) and delsp.lower() == "yes")
            return _Bodies(texts=[text])
        is_calendar = ctype in ("text/calendar", "application/ics") or (
            filename is not None and filename.lower().endswith((".ics", ".vcs"))
        )
        if is_calendar:
            charset = _attempt(part, lambda p: p.get_content_charset(), None)
            self.calendars.append(decode_text(content, charset or "utf-8", self.defects))
            filename = filename or "invite.ics"
        content_id = _attempt(part, lambda p: str(p.get("content-id", "")), "")
        cid = "".join(content_id.split()).strip("<>") or None
        self._add(
            filename or _default_filename(ctype, len(self.attachments) + 1),
            ctype,
            content,
            content_id=_clean_text(cid) if cid else None,
            is_inline=disposition == "inline" or (disposition is None and cid is not None),
        )
        return _Bodies()

    def _add(
        self, filename: str, ctype: str, content: bytes, *, content_id: str | None, is_inline: bool
    ) -> None:
        digest = hashlib.sha256(content).hexdigest()
        if ctype == "text/calendar" and any(a.sha256 == digest for a in self.attachments):
            return  # the same invite as alternative part and as attachment
        self.attachments.append(
            ParsedAttachment(
                filename=filename,
                content_type=ctype,
                size=len(content),
                sha256=digest,
                content_id=content_id,
                is_inline=is_inline,
                content=content,
            )
        )

    def _nested_message(self, part: Message, ctype: str, payload: list[Message] | None) -> None:
        content = b""
        subject = None
        if payload is not None:
            inner = next((p for p in payload if isinstance(p, Message)), None)
            if inner is not None:
                subject = _Headers(inner, []).text("subject")
                try:
                    content = _serialize(inner)
                except Exception as exc:
                    self.defects.append(f"nested_message_unreadable:{type(exc).__name__}")
        else:
            content = _transfer_decoded(part, self.defects)
            try:
                head = BytesHeaderParser(policy=email_policy.default).parsebytes(content)
                subject = _Headers(head, []).text("subject")
            except Exception:
                subject = None
        filename = _safe_filename(_attempt(part, lambda p: p.get_filename(), None), self.defects)
        if ctype == "message/rfc822":
            title = _safe_filename(_fold_ws(subject or "")[:120], [])
            filename = f"{title}.eml" if title else (filename or "forwarded-message.eml")
        content_id = _attempt(part, lambda p: str(p.get("content-id", "")), "")
        cid = "".join(content_id.split()).strip("<>") or None
        self._add(
            filename or _default_filename(ctype, len(self.attachments) + 1),
            ctype,
            content,
            content_id=cid,
            is_inline=False,
        )


def _to_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _serialize(msg: Message, depth: int = 0) -> bytes:
    """The message's bytes as parsed: raw header lines and raw payloads.

    Used for nested message/rfc822 parts instead of ``email.generator``, which re-folds
    headers and raises on the broken boundaries and stray bytes that nested mail carries.
    """
    if depth > _MAX_DEPTH:
        raise RecursionError("message nested too deeply")
    out = bytearray()
    for name, value in msg.raw_items():
        out += _to_bytes(f"{name}: {value}").rstrip(b"\r\n") + b"\r\n"
    out += b"\r\n"
    payload = getattr(msg, "_payload", None)
    if isinstance(payload, str):
        out += _to_bytes(payload)
    elif isinstance(payload, list):
        parts = [p for p in payload if isinstance(p, Message)]
        if _content_type(msg).startswith("multipart/"):
            boundary = _attempt(msg, lambda p: p.get_boundary(), None) or "mailmind-boundary"
            dashes = b"--" + _to_bytes(boundary)
            if msg.preamble:
                out += _to_bytes(msg.preamble) + b"\r\n"
            for part in parts:
                out += dashes + b"\r\n" + _serialize(part, depth + 1) + b"\r\n"
            out += dashes + b"--\r\n"
            if msg.epilogue:
                out += _to_bytes(msg.epilogue)
        else:
            out += b"\r\n".join(_serialize(part, depth + 1) for part in parts)
    return bytes(out)


def _unflow(text: str, *, delsp: bool) -> str:
    """Join RFC 3676 format=flowed soft line breaks."""
    out: list[str] = []
    buffer: str | None = None
    buffer_depth = 0

    def flush() -> None:
        nonlocal buffer
        if buffer is not None:
            out.append((">" * buffer_depth + " " if buffer_depth else "") + buffer)
            buffer = None

    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if buffer is not None and depth != buffer_depth:
            flush()
        if buffer is None:
            buffer, buffer_depth = content, depth
        else:
            buffer += content
        if not flowed:
            flush()
    flush()
    return "\n".join(out)


# --- entry point -------------------------------------------------------------------------------


def parse_message(raw: bytes, *, max_text_chars: int = 2_000_000) -> ParsedMessage:
    """Parse one raw message. Never raises.

    Whatever could be decoded is returned; problems are listed in ``defects`` and
    ``parse_error`` is set only when neither a header nor any body or attachment came out.
    ``body_text`` is cut to ``max_text_chars`` (defect ``text_truncated``); attachments are
    kept whole, the caller decides limits.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        return ParsedMessage(size=0, raw_sha256="", parse_error="input is not bytes")
    data = bytes(raw)
    size, digest = len(data), hashlib.sha256(data).hexdigest()
    if not data.strip():
        return ParsedMessage(size=size, raw_sha256=digest, parse_error="empty message")
    defects: list[str] = []
    try:
        return _parse(data, size, digest, max_text_chars, defects)
    except BaseException as exc:
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        defects.append(f"parser_crashed:{type(exc).__name__}")
        return _salvage(data, size, digest, defects, f"{type(exc).__name__}: {exc}")


def _salvage(data: bytes, size: int, digest: str, defects: list[str], error: str) -> ParsedMessage:
    """After a bug in the parser: the identifying headers alone, if even those can be read."""
    try:
        headers = _Headers(BytesHeaderParser(policy=email_policy.compat32).parsebytes(data), [])
        senders = _addresses(headers, "from")
        ids = _message_ids(" ".join(headers.raw("message-id")))
        return ParsedMessage(
            size=size,
            raw_sha256=digest,
            message_id=ids[0] if ids else None,
            subject=_fold_ws(headers.text("subject") or ""),
            sender=senders[0] if senders else None,
            date=_parse_date(next(iter(headers.raw("date")), None), []),
            defects=_tidy_defects(defects),
            parse_error=None if headers.items else _clean_text(error[:500]),
        )
    except Exception:
        return ParsedMessage(
            size=size,
            raw_sha256=digest,
            defects=_tidy_defects(defects),
            parse_error=_clean_text(error[:500]),
        )


def _parse(
    data: bytes, size: int, digest: str, max_text_chars: int, defects: list[str]
) -> ParsedMessage:
    msg = _parse_bytes(data, defects)
    headers = _Headers(msg, defects)

    walker = _Walker(defects)
    try:
        bodies = walker.walk(msg)
    except RecursionError:
        defects.append("nesting_too_deep")
        bodies = _Bodies()

    subject = _fold_ws(headers.text("subject") or "")
    from_list = _addresses(headers, "from")
    sender_list = from_list or _addresses(headers, "sender")

    message_ids = _message_ids(" ".join(headers.raw("message-id")))
    in_reply_to = _message_ids(" ".join(headers.raw("in-reply-to")))
    references = _dedupe(_message_ids(" ".join(headers.raw("references"))))

    safe: dict[str, str] = {}
    for name in SAFE_HEADERS:
        value = headers.text(name)
        if value is not None:
            safe[name] = _fold_ws(value)[:_MAX_HEADER_CHARS]

    body_text = "\n\n".join(t.strip("\n") for t in bodies.texts if t.strip())
    body_html: str | None = None
    has_remote = False
    if bodies.htmls:
        html = "\n".join(bodies.htmls)
        sanitized = sanitize_html(html)
        body_html, has_remote = sanitized.html.strip(), sanitized.has_remote_images
        if not body_text:
            body_text = html_to_text(html)
    body_text = _clean_text(body_text)
    if len(body_text) > max_text_chars:
        body_text = body_text[: max(0, max_text_chars)]
        defects.append("text_truncated")

    calendar = None
    for text in walker.calendars:
        try:
            calendar = parse_calendar(text)
        except Exception as exc:
            defects.append(f"calendar_unreadable:{type(exc).__name__}")
        if calendar is not None:
            break

    language = _language(headers.text("content-language"))
    if language is None and walker.languages:
        language = walker.languages[0]

    usable = bool(headers.items) or bool(body_text.strip()) or bool(walker.attachments)
    return ParsedMessage(
        size=size,
        raw_sha256=digest,
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=references,
        subject=subject,
        sender=sender_list[0] if sender_list else None,
        reply_to=_addresses(headers, "reply-to"),
        to=_addresses(headers, "to"),
        cc=_addresses(headers, "cc"),
        bcc=_addresses(headers, "bcc"),
        date=_parse_date(next(iter(headers.raw("date")), None), defects),
        headers=safe,
        body_text=body_text,
        body_html=body_html,
        has_remote_images=has_remote,
        attachments=walker.attachments,
        has_calendar=bool(walker.calendars),
        calendar=calendar,
        language=language,
        defects=_tidy_defects(defects),
        parse_error=None if usable else "no header or body could be decoded",
    )
