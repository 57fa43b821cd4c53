"""Composing and sending mail (PRODUCT_SPEC §2.4 Send, Reply/forward, Scheduled send, Drafts,
Attachments).

A message being written is a :class:`~mailmind.models.Message` row in its account's Drafts
folder with ``send_status`` ``draft``. Sending moves it to ``queued`` (or ``scheduled`` with
``send_at``) and defers the ``compose.send`` job in the same transaction; the job moves it
``queued → sending`` in a committed compare-and-set before it talks to the SMTP server and to
``sent`` (in the Sent folder) or ``failed`` afterwards.

Never twice: a job that finds its message already ``sending`` cannot know whether the server
took it (the worker stopped between the SMTP server's answer and our commit), so it does not
send again. It marks the message ``failed`` with an explanation, and the user decides, after
looking at the Sent folder or asking the recipient, whether to send it again.
"""

from __future__ import annotations

import hashlib
import re
import uuid
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses, parseaddr
from html import escape
from typing import Any

import orjson
import structlog
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.account import service as account_service
from mailmind.auth.principal import AuthUser
from mailmind.compose import repository as repo
from mailmind.compose.mime import (
    Mailbox,
    Outgoing,
    OutgoingAttachment,
    build_message,
    clean_html,
    forward_subject,
    new_message_id,
    reply_references,
    reply_subject,
    strip_id,
)
from mailmind.compose.schemas import (
    AddressRead,
    AttachmentRead,
    DraftRead,
    DraftWrite,
    EmailCreate,
    ForwardCreate,
    ReplyCreate,
    SendAccepted,
)
from mailmind.config import parse_rate
from mailmind.errors import MailError, RateLimited, ResourceError, ValidationFailed
from mailmind.integrations.errors import MailAdapterError
from mailmind.integrations.smtp import SmtpError, send_message
from mailmind.jobs.queue import PermanentJobError, backoff_seconds, defer
from mailmind.kit.text import preview, search_config
from mailmind.kit.time import utcnow
from mailmind.mailbox.repository import get_or_create_folder
from mailmind.message import service as message_service
from mailmind.message.ingest import person_terms, search_vector
from mailmind.message.parse import Address, parse_message
from mailmind.message.quotes import normalize_subject
from mailmind.models import Attachment, Folder, MailAccount, Message, MessageSource
from mailmind.realtime.publish import publish_after_commit
from mailmind.runtime import Runtime
from mailmind.thread.threading import ThreadCandidate, assign_threads, refresh_threads

log = structlog.get_logger(__name__)

SEND_TASK = "compose.send"
APPEND_TASK = "compose.append_sent"
MAX_FILE_BYTES = 10 * 1024 * 1024  # PRODUCT_SPEC §2.4: ≤10 MB per file
MAX_MAIL_BYTES = 25 * 1024 * 1024  # … and ≤25 MB per mail
# An upload request above this cannot hold a useful file: refused (VAL006) before it is read.
MAX_UPLOAD_REQUEST_BYTES = MAX_MAIL_BYTES + 1024 * 1024
MAX_RECIPIENTS = 100
SCHEDULE_MIN = timedelta(minutes=1)
SCHEDULE_MAX = timedelta(days=365)
UPLOAD_TTL = timedelta(hours=24)
SENDING_KINDS = frozenset({"imap", "gmail", "microsoft"})
# Gmail and Microsoft 365 file a copy of everything sent through their SMTP in Sent themselves.
APPENDS_SENT_COPY = frozenset({"imap"})
EDITABLE = ("draft", "failed", "scheduled")
IN_DOUBT_ERROR = (
    "Sending was interrupted after the message was handed to the mail server, so it may or may "
    "not have been delivered. Check your Sent folder (or with the recipients) before sending "
    "it again."
)
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*$")


# --- recipients -----------------------------------------------------------------------------


def _parse_entry(raw: str) -> dict[str, str]:
    """``"Name <a@b>"`` or ``"a@b"`` as ``{name, address}``; anything else is kept whole as the
    address, so a draft keeps what was typed and sending names it as invalid."""
    text = raw.strip()
    if "<" in text:
        name, address = parseaddr(text)
        if address and len(getaddresses([text])) == 1:
            return {"name": name.strip(), "address": address.strip()}
    return {"name": "", "address": text}


def _entries(values: Sequence[str]) -> list[dict[str, str]]:
    return [_parse_entry(v) for v in values if v.strip()]


def _valid_mailbox(entry: dict[str, str]) -> Mailbox | None:
    try:
        # No SMTPUTF8 local parts: they cannot be written in a header the way every server
        # accepts (RFC 6531); internationalised domains are sent in their IDNA form.
        result = validate_email(entry["address"], check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return Mailbox(name=entry.get("name", ""), address=result.ascii_email or result.normalized)


@dataclass(frozen=True)
class Envelope:
    to: list[Mailbox]
    cc: list[Mailbox]
    bcc: list[Mailbox]

    @property
    def recipients(self) -> list[str]:
        seen: dict[str, str] = {}
        for box in [*self.to, *self.cc, *self.bcc]:
            seen.setdefault(box.address.lower(), box.address)
        return list(seen.values())


def check_recipients(
    to: Sequence[dict[str, str]], cc: Sequence[dict[str, str]], bcc: Sequence[dict[str, str]]
) -> Envelope:
    """1–100 recipients in all, each a valid address: else EMAIL003 with ``details.invalid``."""
    invalid: list[str] = []
    lists: list[list[Mailbox]] = []
    for entries in (to, cc, bcc):
        boxes = []
        for entry in entries:
            box = _valid_mailbox(entry)
            if box is None:
                invalid.append(entry["address"])
            else:
                boxes.append(box)
        lists.append(boxes)
    if invalid:
        raise MailError(
            "EMAIL003", "Some recipients are not valid addresses", details={"invalid": invalid}
        )
    envelope = Envelope(*lists)
    count = len(envelope.recipients)
    if count == 0 or count > MAX_RECIPIENTS:
        raise MailError(
            "EMAIL003",
            f"A message needs 1 to {MAX_RECIPIENTS} recipients",
            details={"invalid": [], "count": count, "max": MAX_RECIPIENTS},
        )
    return envelope


def _check_send_at(send_at: datetime | None) -> datetime | None:
    if send_at is None:
        return None
    if send_at.tzinfo is None:
        raise ValidationFailed("VAL002", "send_at needs a time zone", details={"field": "send_at"})
    now = utcnow()
    if not now + SCHEDULE_MIN <= send_at <= now + SCHEDULE_MAX:
        raise ValidationFailed(
            "VAL003",
            "send_at must be between one minute and one year from now",
            details={"field": "send_at"},
        )
    return send_at


async def _check_send_rate(runtime: Runtime, user_id: uuid.UUID) -> None:
    """RATE_LIMIT_SEND (10/min) per user; a retried request with the same Idempotency-Key is
    answered before it gets here and does not count."""
    limit, window = parse_rate(runtime.settings.rate_limit_send)
    hits, retry_after = await runtime.store.incr_window(f"rl:send:{user_id}", window)
    if hits > limit:
        raise RateLimited(
            "RATE001", retry_after, "Too many messages sent; try again later",
            details={"limit": "send"},
        )  # fmt: skip


# --- loading --------------------------------------------------------------------------------


async def _sending_account(
    session: AsyncSession, user: AuthUser, account_id: uuid.UUID
) -> MailAccount:
    account = await account_service.get_owned_account(session, user, account_id)
    if account.kind not in SENDING_KINDS or not account.smtp_host:
        raise ValidationFailed(
            "VAL003", "This account cannot send mail", details={"field": "account_id"}
        )
    return account


async def get_outgoing(session: AsyncSession, user: AuthUser, message_id: uuid.UUID) -> Message:
    """The user's message that was composed here (has a ``send_status``); RES001 otherwise."""
    message = await repo.get_message(session, user.id, message_id, for_update=True)
    if message is None or message.send_status is None:
        raise ResourceError("RES001", "Draft not found")
    return message


async def _folder(session: AsyncSession, account: MailAccount, role: str) -> Folder:
    folder = await repo.get_role_folder(session, account.id, role)
    if folder is None:
        name = {"drafts": "Drafts", "sent": "Sent"}[role]
        folder = await get_or_create_folder(session, account, path=name, name=name, role=role)
    return folder


async def _uploads(
    session: AsyncSession,
    user: AuthUser,
    ids: Sequence[uuid.UUID],
    *,
    message_id: uuid.UUID | None = None,
) -> list[Attachment]:
    """The user's unused uploads (or attachments already on ``message_id``); RES001 for any
    other id."""
    wanted = list(dict.fromkeys(ids))
    found = {a.id: a for a in await repo.get_attachments(session, user.id, wanted)}
    usable = [found[i] for i in wanted if i in found and found[i].message_id in (None, message_id)]
    if len(usable) != len(wanted):
        raise ResourceError(
            "RES001",
            "Attachment not found",
            details={"attachment_ids": [str(i) for i in wanted if i not in {a.id for a in usable}]},
        )
    return usable


def _check_total_size(sizes: Sequence[int]) -> None:
    total = sum(sizes)
    if total > MAX_MAIL_BYTES:
        raise MailError(
            "EMAIL005",
            "The attachments of one message may not exceed 25 MB",
            details={"size": total, "max": MAX_MAIL_BYTES},
        )


# --- idempotency ----------------------------------------------------------------------------


async def idempotent(
    session: AsyncSession,
    user: AuthUser,
    key: str | None,
    fingerprint: dict[str, Any],
    run: Callable[[], Awaitable[SendAccepted]],
) -> SendAccepted:
    """Run ``run`` once per ``Idempotency-Key``: the same key with the same request answers
    the first answer again; with another request it is RES003. The key is claimed in the
    request's transaction, so it is kept exactly when the send is."""
    if key is None:
        return await run()
    digest = hashlib.sha256(orjson.dumps(fingerprint, option=orjson.OPT_SORT_KEYS)).hexdigest()
    row_id = await repo.claim_idempotency_key(session, user.id, key, digest, utcnow())
    if row_id is None:
        stored = await repo.get_idempotency_key(session, user.id, key)
        if stored is None or stored.request_hash != digest or not stored.response:
            raise ResourceError(
                "RES003", "This Idempotency-Key was already used for another request"
            )
        return SendAccepted.model_validate(stored.response)
    answer = await run()
    await repo.store_idempotent_response(session, row_id, 202, answer.model_dump(mode="json"))
    return answer


# --- uploads --------------------------------------------------------------------------------


def _safe_filename(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().strip(".")
    return name[:255] or "attachment"


async def upload_attachment(
    session: AsyncSession, user: AuthUser, *, filename: str, content_type: str, data: bytes
) -> Attachment:
    """Store an upload for a message yet to be sent; unused uploads are purged after 24 h."""
    if len(data) > MAX_FILE_BYTES:
        raise MailError(
            "EMAIL005",
            "A file may not exceed 10 MB",
            details={"size": len(data), "max": MAX_FILE_BYTES},
        )
    content_type = content_type.split(";", 1)[0].strip().lower()
    if not _CONTENT_TYPE.match(content_type):
        content_type = "application/octet-stream"
    attachment = Attachment(
        id=uuid.uuid4(),
        user_id=user.id,
        message_id=None,
        filename=_safe_filename(filename),
        content_type=content_type[:255],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def purge_unused_uploads(session: AsyncSession) -> int:
    return await repo.purge_unused_uploads(session, utcnow() - UPLOAD_TTL)


# --- writing drafts and outgoing messages ---------------------------------------------------


@dataclass
class _Content:
    to: list[dict[str, str]]
    cc: list[dict[str, str]]
    bcc: list[dict[str, str]]
    subject: str
    body_text: str
    body_html: str | None
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    thread_id: uuid.UUID | None = None


def _apply(message: Message, content: _Content) -> None:
    message.to_addrs = content.to
    message.cc_addrs = content.cc
    message.bcc_addrs = content.bcc
    message.subject = content.subject
    message.body_text = content.body_text
    message.body_new_text = content.body_text
    message.body_html = clean_html(content.body_html) if content.body_html else None
    message.preview = preview(content.body_text)
    message.in_reply_to = content.in_reply_to
    message.references = list(content.references)
    message.thread_id = content.thread_id


async def _new_outgoing(
    session: AsyncSession, account: MailAccount, content: _Content, status: str
) -> Message:
    folder = await _folder(session, account, "drafts")
    message = Message(
        id=uuid.uuid4(),
        user_id=account.user_id,
        account_id=account.id,
        folder_id=folder.id,
        sender_name=account.display_name,
        sender_address=account.email,
        is_read=True,
        is_draft=True,
        ai_status="skipped",  # the user's own mail is not classified
        send_status=status,
        headers={},
    )
    _apply(message, content)
    session.add(message)
    await session.flush()
    await repo.adjust_folder_total(session, folder.id, 1)
    return message


async def _queue_send(
    session: AsyncSession, runtime: Runtime, message: Message, send_at: datetime | None
) -> SendAccepted:
    message.send_status = "scheduled" if send_at else "queued"
    message.send_at = send_at
    message.send_error = None
    await session.flush()
    await defer(
        session,
        SEND_TASK,
        # Its own lock, not the account's: a send must not wait behind a long sync.
        lock=f"send:{message.account_id}",
        scheduled_at=send_at,
        message_id=str(message.id),
        send_at=send_at.isoformat() if send_at else None,
    )
    _publish_status(session, runtime, message)
    return SendAccepted(email_id=message.id, send_status=message.send_status)


def _publish_status(session: AsyncSession, runtime: Runtime, message: Message) -> None:
    publish_after_commit(
        session,
        runtime.store,
        message.user_id,
        "email_updated",
        {
            "email_ids": [str(message.id)],
            "changes": {
                "send_status": message.send_status,
                "send_at": message.send_at.isoformat() if message.send_at else None,
                "folder_id": str(message.folder_id) if message.folder_id else None,
            },
        },
    )


async def _submit(
    session: AsyncSession,
    runtime: Runtime,
    user: AuthUser,
    account: MailAccount,
    content: _Content,
    *,
    attachment_ids: Sequence[uuid.UUID],
    send_at: datetime | None,
    copies: Sequence[Attachment] = (),
) -> SendAccepted:
    """Check, store and queue a new outgoing message (send, reply, forward)."""
    check_recipients(content.to, content.cc, content.bcc)
    send_at = _check_send_at(send_at)
    uploads = await _uploads(session, user, attachment_ids)
    _check_total_size([a.size for a in [*uploads, *copies]])
    await _check_send_rate(runtime, user.id)
    message = await _new_outgoing(session, account, content, "draft")
    await repo.link_attachments(session, [a.id for a in uploads], message.id)
    for original in copies:
        session.add(
            Attachment(
                id=uuid.uuid4(),
                user_id=user.id,
                message_id=message.id,
                filename=original.filename,
                content_type=original.content_type,
                size=original.size,
                sha256=original.sha256,
                content=original.content,
            )
        )
    message.has_attachments = bool(uploads or copies)
    return await _queue_send(session, runtime, message, send_at)


async def send_new(
    session: AsyncSession, runtime: Runtime, user: AuthUser, data: EmailCreate
) -> SendAccepted:
    account = await _sending_account(session, user, data.account_id)
    content = _Content(
        to=_entries(data.to),
        cc=_entries(data.cc),
        bcc=_entries(data.bcc),
        subject=data.subject,
        body_text=data.body_text,
        body_html=data.body_html,
    )
    return await _submit(
        session, runtime, user, account, content,
        attachment_ids=data.attachment_ids, send_at=data.send_at,
    )  # fmt: skip


def reply_recipients(
    parent: Message, own: set[str], *, reply_all: bool
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(To, Cc) of a reply: Reply-To, else From; with ``reply_all`` also the original To and
    Cc. The user's own addresses and duplicates are left out; a reply to one's own message goes
    to its recipients."""
    seen: set[str] = set(own)

    def take(entries: Sequence[dict[str, str]]) -> list[dict[str, str]]:
        kept = []
        for entry in entries:
            address = entry.get("address", "").lower()
            if address and address not in seen:
                seen.add(address)
                kept.append({"name": entry.get("name", ""), "address": entry["address"]})
        return kept

    author = parent.reply_to or (
        [{"name": parent.sender_name, "address": parent.sender_address}]
        if parent.sender_address
        else []
    )
    to = take(author)
    if not to and parent.sender_address.lower() in own:
        to = take(parent.to_addrs)
    cc: list[dict[str, str]] = []
    if reply_all:
        to += take(parent.to_addrs)
        cc = take(parent.cc_addrs)
    return to, cc


async def reply(
    session: AsyncSession,
    runtime: Runtime,
    user: AuthUser,
    message_id: uuid.UUID,
    data: ReplyCreate,
) -> SendAccepted:
    parent = await message_service.get_owned(session, user.id, message_id)
    account = await _sending_account(session, user, data.account_id or parent.account_id)
    own = await repo.user_addresses(session, user.id)
    to, cc = reply_recipients(parent, own, reply_all=data.reply_all)
    content = _Content(
        to=to,
        cc=cc + _entries(data.cc),
        bcc=_entries(data.bcc),
        subject=reply_subject(parent.subject),
        body_text=data.body_text,
        body_html=data.body_html,
        in_reply_to=parent.message_id_header,
        references=reply_references(parent.references, parent.message_id_header),
        thread_id=parent.thread_id if parent.account_id == account.id else None,
    )
    return await _submit(
        session, runtime, user, account, content,
        attachment_ids=data.attachment_ids, send_at=data.send_at,
    )  # fmt: skip


def _forwarded_block(parent: Message) -> tuple[str, str]:
    """The original below a forward, as text and as HTML."""
    sender = (
        f"{parent.sender_name} <{parent.sender_address}>"
        if parent.sender_name
        else parent.sender_address
    )
    to = ", ".join(a.get("address", "") for a in parent.to_addrs)
    lines = [
        "---------- Forwarded message ---------",
        f"From: {sender}",
        f"Date: {parent.date.strftime('%a, %d %b %Y %H:%M %z') if parent.date else ''}",
        f"Subject: {parent.subject}",
        f"To: {to}",
    ]
    text = "\n".join(lines) + "\n\n" + parent.body_text
    body = parent.body_html or f"<pre>{escape(parent.body_text)}</pre>"
    html = "<br>".join(escape(line) for line in lines) + f"<br><br>{body}"
    return text, html


async def _original_attachments(session: AsyncSession, parent: Message) -> list[Attachment]:
    """The original's attachments (not inline images), with their content: from the stored
    parts, else parsed out of the raw source."""
    attachments = [a for a in await repo.message_attachments(session, parent.id) if not a.is_inline]
    if any(a.content is None for a in attachments):
        source = await repo.get_source(session, parent.id)
        if source is not None:
            raw = zlib.decompress(source.raw) if source.compression == "zlib" else source.raw
            parts = {p.sha256: p.content for p in parse_message(raw).attachments}
            for attachment in attachments:
                if attachment.content is None:
                    attachment.content = parts.get(attachment.sha256)
    return [a for a in attachments if a.content is not None]


async def forward(
    session: AsyncSession,
    runtime: Runtime,
    user: AuthUser,
    message_id: uuid.UUID,
    data: ForwardCreate,
) -> SendAccepted:
    parent = await message_service.get_owned(session, user.id, message_id)
    account = await _sending_account(session, user, data.account_id or parent.account_id)
    text, html = _forwarded_block(parent)
    body_text = f"{data.body_text}\n\n{text}" if data.body_text else text
    body_html = f"{data.body_html}<br><br>{html}" if data.body_html else None
    copies = await _original_attachments(session, parent) if data.include_attachments else []
    content = _Content(
        to=_entries(data.to),
        cc=_entries(data.cc),
        bcc=_entries(data.bcc),
        subject=forward_subject(parent.subject),
        body_text=body_text,
        body_html=body_html,
    )
    return await _submit(
        session, runtime, user, account, content,
        attachment_ids=data.attachment_ids, send_at=data.send_at, copies=copies,
    )  # fmt: skip


async def _draft_content(session: AsyncSession, user: AuthUser, data: DraftWrite) -> _Content:
    content = _Content(
        to=_entries(data.to),
        cc=_entries(data.cc),
        bcc=_entries(data.bcc),
        subject=data.subject,
        body_text=data.body_text,
        body_html=data.body_html,
    )
    if data.in_reply_to_id is not None:
        parent = await message_service.get_owned(session, user.id, data.in_reply_to_id)
        content.in_reply_to = parent.message_id_header
        content.references = reply_references(parent.references, parent.message_id_header)
        content.thread_id = parent.thread_id if parent.account_id == data.account_id else None
    return content


async def create_draft(session: AsyncSession, user: AuthUser, data: DraftWrite) -> Message:
    account = await _sending_account(session, user, data.account_id)
    content = await _draft_content(session, user, data)
    uploads = await _uploads(session, user, data.attachment_ids)
    _check_total_size([a.size for a in uploads])
    message = await _new_outgoing(session, account, content, "draft")
    await repo.link_attachments(session, [a.id for a in uploads], message.id)
    message.has_attachments = bool(uploads)
    await session.flush()
    # The update above gave the row a new server-side updated_at.
    await session.refresh(message, ["updated_at"])
    return message


async def update_draft(
    session: AsyncSession, user: AuthUser, draft_id: uuid.UUID, data: DraftWrite
) -> Message:
    """Replace a draft's content (also of a scheduled or failed message, which keeps its
    status); RES003 once it is being sent or was sent."""
    message = await get_outgoing(session, user, draft_id)
    if message.send_status not in EDITABLE:
        raise ResourceError("RES003", "This message is being sent or was sent")
    if data.account_id != message.account_id:
        account = await _sending_account(session, user, data.account_id)
        old_folder = message.folder_id
        folder = await _folder(session, account, "drafts")
        message.account_id, message.folder_id = account.id, folder.id
        message.sender_name, message.sender_address = account.display_name, account.email
        if old_folder is not None:
            await repo.adjust_folder_total(session, old_folder, -1)
        await repo.adjust_folder_total(session, folder.id, 1)
    content = await _draft_content(session, user, data)
    uploads = await _uploads(session, user, data.attachment_ids, message_id=message.id)
    _check_total_size([a.size for a in uploads])
    _apply(message, content)
    await repo.unlink_attachments(session, message.id, [a.id for a in uploads])
    await repo.link_attachments(session, [a.id for a in uploads], message.id)
    message.has_attachments = bool(uploads)
    message.updated_at = utcnow()
    await session.flush()
    return message


async def delete_draft(session: AsyncSession, user: AuthUser, draft_id: uuid.UUID) -> None:
    message = await get_outgoing(session, user, draft_id)
    if message.send_status not in EDITABLE:
        raise ResourceError("RES003", "This message is being sent or was sent")
    folder_id = message.folder_id
    await session.delete(message)
    await session.flush()
    if folder_id is not None:
        await repo.adjust_folder_total(session, folder_id, -1)


async def send_draft(
    session: AsyncSession,
    runtime: Runtime,
    user: AuthUser,
    draft_id: uuid.UUID,
    send_at: datetime | None,
) -> SendAccepted:
    """Send a draft (or a failed message again, or a scheduled one now)."""
    message = await get_outgoing(session, user, draft_id)
    if message.send_status not in EDITABLE:
        raise ResourceError("RES003", "This message is being sent or was sent")
    await _sending_account(session, user, message.account_id)
    check_recipients(message.to_addrs, message.cc_addrs, message.bcc_addrs)
    send_at = _check_send_at(send_at)
    _check_total_size([a.size for a in await repo.message_attachments(session, message.id)])
    await _check_send_rate(runtime, user.id)
    return await _queue_send(session, runtime, message, send_at)


async def reschedule(
    session: AsyncSession,
    runtime: Runtime,
    user: AuthUser,
    message_id: uuid.UUID,
    send_at: datetime,
) -> SendAccepted:
    """Schedule a draft or move a scheduled message to ``send_at``; RES003 once it is queued,
    being sent or sent. The job queued for the old time finds the time changed and stops."""
    message = await get_outgoing(session, user, message_id)
    if message.send_status not in ("draft", "scheduled", "failed"):
        raise ResourceError("RES003", "This message is already being sent or was sent")
    checked = _check_send_at(send_at)
    if message.send_status != "scheduled":
        check_recipients(message.to_addrs, message.cc_addrs, message.bcc_addrs)
        await _check_send_rate(runtime, user.id)
    return await _queue_send(session, runtime, message, checked)


async def cancel_schedule(
    session: AsyncSession, runtime: Runtime, user: AuthUser, message_id: uuid.UUID
) -> SendAccepted:
    """A scheduled message back to a draft; RES003 when it is not scheduled (any more)."""
    message = await get_outgoing(session, user, message_id)
    if message.send_status != "scheduled":
        raise ResourceError("RES003", "This message is not scheduled")
    message.send_status = "draft"
    message.send_at = None
    await session.flush()
    _publish_status(session, runtime, message)
    return SendAccepted(email_id=message.id, send_status="draft")


async def draft_read(session: AsyncSession, message: Message) -> DraftRead:
    attachments = await repo.message_attachments(session, message.id)
    parent_id = None
    if message.in_reply_to:
        parent = await repo.find_by_message_id(session, message.account_id, message.in_reply_to)
        parent_id = parent.id if parent is not None and parent.id != message.id else None
    return DraftRead(
        id=message.id,
        account_id=message.account_id,
        folder_id=message.folder_id,
        to=[AddressRead(**a) for a in message.to_addrs],
        cc=[AddressRead(**a) for a in message.cc_addrs],
        bcc=[AddressRead(**a) for a in message.bcc_addrs],
        subject=message.subject,
        body_text=message.body_text,
        body_html=message.body_html,
        attachments=[
            AttachmentRead(id=a.id, filename=a.filename, size=a.size, content_type=a.content_type)
            for a in attachments
        ],
        in_reply_to_id=parent_id,
        send_status=message.send_status,
        send_at=message.send_at,
        send_error=message.send_error,
        updated_at=message.updated_at,
    )


async def list_drafts(session: AsyncSession, user: AuthUser) -> list[DraftRead]:
    return [await draft_read(session, m) for m in await repo.list_drafts(session, user.id)]


# --- the send job ---------------------------------------------------------------------------


def _mailboxes(entries: Sequence[dict[str, str]]) -> list[Mailbox]:
    return [box for box in (_valid_mailbox(e) for e in entries) if box is not None]


async def _fail(
    runtime: Runtime,
    message_id: uuid.UUID,
    error: str,
    *,
    code: str = "EMAIL002",
    from_states: Sequence[str] = ("sending",),
) -> None:
    """``failed`` with the reason, a ``send_failed`` notification and an ``error`` event; the
    message stays in Drafts to be edited or sent again."""
    async with runtime.db.session() as session:
        changed = await repo.transition(
            session,
            message_id,
            from_states=from_states,
            values={"send_status": "failed", "send_error": error[:2000], "send_at": None},
        )
        message = await repo.get_message_by_id(session, message_id)
        if not changed or message is None:
            return
        notification = repo.add_notification(
            session,
            user_id=message.user_id,
            type="send_failed",
            title=f"Not sent: {message.subject or '(no subject)'}",
            body=error,
            message_id=message.id,
        )
        await session.flush()
        _publish_status(session, runtime, message)
        publish_after_commit(
            session,
            runtime.store,
            message.user_id,
            "notification",
            {
                "id": str(notification.id),
                "type": notification.type,
                "title": notification.title,
                "body": notification.body,
                "email_id": str(message.id),
                "created_at": utcnow().isoformat(),
            },
        )
        publish_after_commit(
            session,
            runtime.store,
            message.user_id,
            "error",
            {"code": code, "message": error, "email_id": str(message.id)},
        )
    log.warning("send_failed", email_id=str(message_id), code=code)


async def _claim(
    runtime: Runtime, message_id: uuid.UUID, expected_send_at: datetime | None
) -> bool:
    """``queued``/``scheduled`` → ``sending`` in its own committed transaction: from here on no
    other job sends this message."""
    async with runtime.db.session() as session:
        message = await repo.get_message_by_id(session, message_id)
        if message is None:
            return False
        if message.send_status == "sending":
            in_doubt = True
        elif message.send_status not in ("queued", "scheduled"):
            return False  # sent, cancelled back to a draft, failed: nothing to do
        elif message.send_at != expected_send_at:
            return False  # rescheduled (or sent now): another job owns it
        else:
            in_doubt = False
        if not in_doubt:
            account = await repo.get_account_by_id(session, message.account_id)
            assert account is not None
            # Kept across retries: the recipients' servers can recognise a repeated message.
            header = message.message_id_header or strip_id(new_message_id(account.email))
            return await repo.transition(
                session,
                message_id,
                from_states=("queued", "scheduled"),
                match_send_at=True,
                expected_send_at=expected_send_at,
                values={"send_status": "sending", "message_id_header": header, "date": utcnow()},
            )
    await _fail(runtime, message_id, IN_DOUBT_ERROR)
    return False


@dataclass
class _Prepared:
    account: MailAccount
    raw: bytes
    sender: str
    recipients: list[str]


async def _prepare(runtime: Runtime, message_id: uuid.UUID) -> tuple[_Prepared, Any]:
    async with runtime.db.session() as session:
        message = await repo.get_message_by_id(session, message_id)
        assert message is not None
        account = await repo.get_account_by_id(session, message.account_id)
        assert account is not None
        attachments = await repo.message_attachments(session, message.id)
        envelope = Envelope(
            _mailboxes(message.to_addrs),
            _mailboxes(message.cc_addrs),
            _mailboxes(message.bcc_addrs),
        )
        sender = Mailbox(account.display_name, account.email)
        assert message.message_id_header is not None
        assert message.date is not None
        raw = build_message(
            Outgoing(
                sender=sender,
                to=envelope.to,
                cc=envelope.cc,
                subject=message.subject,
                body_text=message.body_text,
                body_html=message.body_html,
                message_id=f"<{message.message_id_header}>",
                date=message.date,
                in_reply_to=message.in_reply_to,
                references=message.references,
                attachments=[
                    OutgoingAttachment(a.filename, a.content_type, a.content or b"")
                    for a in attachments
                ],
            )
        )
        _, smtp = await account_service.connection_configs(session, runtime, account)
    return _Prepared(account, raw, account.email, envelope.recipients), smtp


async def _record_sent(runtime: Runtime, message_id: uuid.UUID, raw: bytes) -> None:
    """The sent message in the Sent folder, threaded and searchable, with its raw source; the
    original marked answered; the server's Sent copy queued for plain IMAP accounts."""
    async with runtime.db.session() as session:
        message = await repo.get_message_by_id(session, message_id)
        assert message is not None
        account = await repo.get_account_by_id(session, message.account_id)
        assert account is not None
        sent = await _folder(session, account, "sent")
        attachments = await repo.message_attachments(session, message.id)
        old_folder = message.folder_id
        now = utcnow()
        people = " ".join(
            person_terms(Address(name=a.get("name", ""), address=a["address"]))
            for a in [
                {"name": account.display_name, "address": account.email},
                *message.to_addrs,
                *message.cc_addrs,
                *message.bcc_addrs,
            ]
        )
        config = search_config(None, message.body_text)
        message.send_status = "sent"
        message.send_error = None
        message.folder_id = sent.id
        message.is_draft = False
        message.is_read = True
        message.received_at = now
        message.size = len(raw)
        message.dedupe_key = (message.message_id_header or "")[:128] or None
        message.language = config
        vector = search_vector(
            config,
            subject=message.subject,
            people=people,
            body=message.body_text,
            files=" ".join(a.filename for a in attachments),
        )
        session.add(
            MessageSource(
                message_id=message.id,
                compression="zlib",
                raw=zlib.compress(raw, 6),
                raw_size=len(raw),
                sha256=hashlib.sha256(raw).hexdigest(),
            )
        )
        candidate = ThreadCandidate(
            message_id=message.message_id_header,
            in_reply_to=message.in_reply_to,
            references=message.references,
            normalized_subject=normalize_subject(message.subject),
            subject=message.subject,
            participants=frozenset(
                a["address"].lower() for a in [*message.to_addrs, *message.cc_addrs]
            )
            | {account.email.lower()},
            date=message.date,
        )
        touched = await assign_threads(
            session, user_id=account.user_id, account_id=account.id, batch=[candidate]
        )
        message.thread_id = candidate.thread_id
        await session.flush()
        await repo.set_search_vector(session, message.id, vector)
        await refresh_threads(session, touched)
        if old_folder is not None and old_folder != sent.id:
            await repo.adjust_folder_total(session, old_folder, -1)
            await repo.adjust_folder_total(session, sent.id, 1)
        if message.in_reply_to:
            answered = await repo.mark_answered(session, account.id, message.in_reply_to)
            if answered:
                await queue_answered_write_back(session, account, answered)
                publish_after_commit(
                    session,
                    runtime.store,
                    account.user_id,
                    "email_updated",
                    {"email_ids": [str(i) for i in answered], "changes": {"is_answered": True}},
                )
        if account.kind in APPENDS_SENT_COPY:
            await defer(
                session,
                APPEND_TASK,
                # In order with the account's sync, which adopts the copy by its Message-ID.
                lock=f"account:{account.id}",
                message_id=str(message.id),
            )
        _publish_status(session, runtime, message)
    log.info("sent", email_id=str(message_id))


async def queue_answered_write_back(
    session: AsyncSession, account: MailAccount, message_ids: Sequence[uuid.UUID]
) -> None:
    """Mirror ``\\Answered`` on the originals to the server (the write-back job)."""
    await message_service.queue_write_back(
        session, account, "answered", message_ids=[str(i) for i in message_ids]
    )


async def deliver(
    runtime: Runtime, *, message_id: uuid.UUID, send_at: datetime | None, attempt: int
) -> None:
    """The ``compose.send`` job: send one queued or due message, at most once."""
    if not await _claim(runtime, message_id, send_at):
        return
    try:
        prepared, smtp = await _prepare(runtime, message_id)
    except MailAdapterError as exc:
        # No credentials (e.g. the OAuth refresh was refused or the provider is unreachable):
        # nothing was sent.
        if exc.transient and await _retry_later(runtime, message_id, exc.message, send_at, attempt):
            return
        await _fail(runtime, message_id, f"Cannot sign in to the mail server: {exc.message}")
        return
    except Exception:
        await _fail(runtime, message_id, "The message could not be prepared for sending.")
        raise
    try:
        await send_message(
            smtp, sender=prepared.sender, recipients=prepared.recipients, raw=prepared.raw
        )
    except SmtpError as exc:
        await _handle_smtp_error(runtime, message_id, prepared.account, exc, send_at, attempt)
        return
    except Exception:
        # Whatever happened, the server may have the message: never retried blindly.
        await _fail(runtime, message_id, IN_DOUBT_ERROR)
        raise
    await _record_sent(runtime, message_id, prepared.raw)


async def _retry_later(
    runtime: Runtime,
    message_id: uuid.UUID,
    error: str,
    send_at: datetime | None,
    attempt: int,
) -> bool:
    """Nothing was sent and a later try may work: back to ``queued`` with a new job after a
    backoff (PRODUCT_SPEC §2.4: 3 retries). A new job rather than a raised error, so that the
    row and its job always agree on what happens next. False when the retries are used up."""
    settings = runtime.settings
    if attempt >= settings.job_retry_attempts:
        return False
    wait = backoff_seconds(
        attempt, minimum=settings.job_retry_min_seconds, maximum=settings.job_retry_max_seconds
    )
    async with runtime.db.session() as session:
        message = await repo.get_message_by_id(session, message_id)
        back = message is not None and await repo.transition(
            session,
            message_id,
            from_states=("sending",),
            values={"send_status": "queued", "send_error": error[:2000]},
        )
        if message is not None and back:
            await defer(
                session,
                SEND_TASK,
                lock=f"send:{message.account_id}",
                scheduled_at=utcnow() + timedelta(seconds=wait),
                message_id=str(message_id),
                send_at=send_at.isoformat() if send_at else None,
                attempt=attempt + 1,
            )
    return True


async def _handle_smtp_error(
    runtime: Runtime,
    message_id: uuid.UUID,
    account: MailAccount,
    exc: SmtpError,
    send_at: datetime | None,
    attempt: int,
) -> None:
    if exc.maybe_delivered:
        await _fail(runtime, message_id, IN_DOUBT_ERROR)
        return
    if exc.transient and await _retry_later(runtime, message_id, exc.message, send_at, attempt):
        log.info("send_retry", email_id=str(message_id), reason=exc.reason, attempt=attempt + 1)
        return
    if exc.reason == "recipients":
        await _fail(
            runtime,
            message_id,
            f"The mail server refused these recipients: {', '.join(exc.invalid)}",
            code="EMAIL003",
        )
        return
    if exc.reason == "auth":
        async with runtime.db.session() as session:
            fresh = await repo.get_account_by_id(session, account.id)
            if fresh is not None:
                await account_service.mark_auth_required(session, runtime, fresh, exc.message)
    await _fail(runtime, message_id, f"The mail server did not accept the message: {exc.message}")


async def append_sent_copy(runtime: Runtime, message_id: uuid.UUID) -> None:
    """The ``compose.append_sent`` job: file the sent message in the server's Sent folder
    (plain IMAP servers do not keep what goes through SMTP). The account's sync then finds it
    and gives the local row its UID (matched by Message-ID)."""
    from mailmind.integrations.imap import ImapError, open_imap

    async with runtime.db.session() as session:
        message = await repo.get_message_by_id(session, message_id)
        if message is None or message.send_status != "sent" or message.uid is not None:
            return
        account = await repo.get_account_by_id(session, message.account_id)
        source = await repo.get_source(session, message.id)
        folder = await session.get(Folder, message.folder_id) if message.folder_id else None
        if account is None or source is None or folder is None:
            return
        if account.sync_state in ("auth_required", "disabled"):
            return
        imap, _ = await account_service.connection_configs(session, runtime, account)
        raw = zlib.decompress(source.raw) if source.compression == "zlib" else source.raw
        path, sent_at = folder.path, message.date
    try:
        async with open_imap(imap) as conn:
            try:
                uid = await conn.append(path, raw, flags=("\\Seen",), date=sent_at)
            except ImapError as exc:
                if exc.reason != "folder":
                    raise
                # The local Sent folder is not on the server yet (RFC 3501 TRYCREATE).
                await conn.create_folder(path)
                uid = await conn.append(path, raw, flags=("\\Seen",), date=sent_at)
            status = await conn.select(path, readonly=True)
    except ImapError as exc:
        if exc.reason == "auth":
            async with runtime.db.session() as session:
                fresh = await repo.get_account_by_id(session, account.id)
                if fresh is not None:
                    await account_service.mark_auth_required(session, runtime, fresh, exc.message)
            return
        if exc.transient:
            raise
        raise PermanentJobError(f"{exc.reason}: {exc.message}") from exc
    if uid is not None:
        async with runtime.db.session() as session:
            await repo.transition(
                session,
                message_id,
                from_states=("sent",),
                values={"uid": uid, "uidvalidity": status.uidvalidity},
            )
