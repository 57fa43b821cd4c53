"""Building outgoing messages (RFC 5322 / MIME) and the reply/forward conventions around them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import nh3

# policy.SMTP (CRLF line ends), restricted to 7-bit transfer encodings: non-ASCII text goes out
# as quoted-printable or base64, so servers without 8BITMIME take the message unchanged.
SMTP_7BIT = policy.SMTP.clone(cte_type="7bit")

# References keeps the thread's root and the most recent ids (RFC 5322 §3.6.4 lets a client
# shorten it); very long headers are refused by some servers.
MAX_REFERENCES = 20

_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|antw|sv|vs)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*", re.IGNORECASE)
_FORWARD_PREFIX = re.compile(r"^\s*(?:fwd?|wg|tr|vs)\s*(?:\[\d+\])?\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Mailbox:
    """A display name and an address (ASCII, IDNA domain)."""

    name: str
    address: str

    def header(self) -> Address:
        return Address(display_name=self.name, addr_spec=self.address)


@dataclass(frozen=True)
class OutgoingAttachment:
    filename: str
    content_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class Outgoing:
    """Everything that goes into one outgoing message. Bcc is never written to a header: those
    recipients only appear in the SMTP envelope."""

    sender: Mailbox
    to: Sequence[Mailbox]
    cc: Sequence[Mailbox]
    subject: str
    body_text: str
    message_id: str  # with angle brackets
    date: datetime
    body_html: str | None = None
    in_reply_to: str | None = None  # without angle brackets, as stored
    references: Sequence[str] = ()
    attachments: Sequence[OutgoingAttachment] = ()


def new_message_id(address: str) -> str:
    """A fresh Message-ID (``<…@domain>``) on the domain of the sending address."""
    domain = address.rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


def strip_id(message_id: str) -> str:
    return message_id.strip().removeprefix("<").removesuffix(">")


def reply_subject(subject: str) -> str:
    """``Re: `` once, whatever reply prefixes (Re:, AW:, Re[2]: …) the subject already has."""
    text = subject.strip()
    while True:
        stripped = _REPLY_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return f"Re: {text}"


def forward_subject(subject: str) -> str:
    """``Fwd: `` once, replacing existing forward prefixes (Fwd:, Fw:, WG:)."""
    text = subject.strip()
    while True:
        stripped = _FORWARD_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return f"Fwd: {text}"


def reply_references(parent_references: Sequence[str], parent_message_id: str | None) -> list[str]:
    """The parent's References plus its Message-ID (RFC 5322 §3.6.4), trimmed to the thread's
    root and the latest ids."""
    ids = [i for i in parent_references if i]
    if parent_message_id and parent_message_id not in ids:
        ids.append(parent_message_id)
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def clean_html(html: str) -> str:
    """The user's own HTML with scripts, event handlers, frames, forms and ``javascript:`` links
    removed (nh3's allow-list); remote images stay, the recipient's client decides on them."""
    return nh3.clean(html)


def build_message(out: Outgoing) -> bytes:
    """The message as bytes with CRLF line ends, ready for SMTP DATA and IMAP APPEND."""
    message = EmailMessage(policy=SMTP_7BIT)
    message["From"] = out.sender.header()
    if out.to:
        message["To"] = [m.header() for m in out.to]
    if out.cc:
        message["Cc"] = [m.header() for m in out.cc]
    if not out.to and not out.cc:
        # RFC 5322 §3.6.3: a message sent only to Bcc recipients gets an empty group.
        message["To"] = "undisclosed-recipients:;"
    message["Subject"] = out.subject
    message["Date"] = format_datetime(out.date)
    message["Message-ID"] = out.message_id
    if out.in_reply_to:
        message["In-Reply-To"] = f"<{out.in_reply_to}>"
    if out.references:
        message["References"] = " ".join(f"<{ref}>" for ref in out.references)
    message["MIME-Version"] = "1.0"
    message["User-Agent"] = "MailMind"
    message.set_content(out.body_text)
    if out.body_html:
        message.add_alternative(out.body_html, subtype="html")
    for attachment in out.attachments:
        maintype, _, subtype = attachment.content_type.lower().partition("/")
        if not maintype or not subtype or maintype == "multipart":
            maintype, subtype = "application", "octet-stream"
        if maintype == "message":
            # RFC 2046 §5.2.1: a message/rfc822 part must not be base64-encoded; a 7-bit one is
            # attached as it is, anything else as opaque data.
            if subtype == "rfc822" and attachment.content.isascii():
                inner = message_from_bytes(attachment.content, policy=SMTP_7BIT)
                message.add_attachment(inner, cte="7bit", filename=attachment.filename)
                continue
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
        )
    return message.as_bytes(policy=SMTP_7BIT)
