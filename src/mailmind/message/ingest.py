"""The one path by which mail enters MailMind: IMAP sync, imports and sent copies.

A batch is parsed, deduplicated, threaded and stored — message, compressed raw source,
attachments, full-text vector — within the caller's transaction, so a batch is committed whole
or not at all and a crashed sync resumes from the last committed UID.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import structlog
from sqlalchemy import (
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from mailmind.kit.text import preview, search_config
from mailmind.message.parse import Address, ParsedMessage
from mailmind.message.parsepool import (
    PreparedMessage,
    prepare_batch,
    prepare_one,
    processes_for,
)
from mailmind.message.quotes import normalize_subject
from mailmind.message.repository import copy_rows
from mailmind.message.sanitize import sanitize_html
from mailmind.models import Attachment, Base, Folder, MailAccount, Message, MessageSource
from mailmind.thread.threading import ThreadCandidate, assign_threads, refresh_threads

if TYPE_CHECKING:
    from mailmind.runtime import Runtime

log = structlog.get_logger(__name__)

# Text beyond this is kept in body_text but not indexed (a tsvector is limited to 1 MB).
_MAX_INDEXED_CHARS = 200_000
_FLAG_COLUMNS = {
    "\\seen": "is_read",
    "\\flagged": "is_starred",
    "\\answered": "is_answered",
    "\\draft": "is_draft",
}


@dataclass
class IncomingMessage:
    """One raw message and what the server told about it."""

    raw: bytes
    uid: int | None = None
    uidvalidity: int | None = None
    flags: Sequence[str] = ()
    internal_date: datetime | None = None
    modseq: int | None = None


@dataclass
class IngestResult:
    stored: list[uuid.UUID] = field(default_factory=list)
    duplicates: int = 0
    failed: int = 0
    adopted: list[uuid.UUID] = field(default_factory=list)


def flag_columns(flags: Sequence[str]) -> dict[str, Any]:
    """Message columns for a set of IMAP flags; other keywords are kept in ``keywords``."""
    values: dict[str, Any] = dict.fromkeys(_FLAG_COLUMNS.values(), False)
    keywords: list[str] = []
    for flag in flags:
        column = _FLAG_COLUMNS.get(flag.lower())
        if column:
            values[column] = True
        elif not flag.startswith("\\"):
            keywords.append(flag)
    values["keywords"] = keywords
    return values


def _addr(address: Address) -> dict[str, str]:
    return {"name": address.name, "address": address.address}


def person_terms(address: Address) -> str:
    # The parser keeps "ann@example.com" as one token; "ann" and "example" must find it too.
    local, _, domain = address.address.partition("@")
    return f"{address.name} {address.address} {local} {domain.replace('.', ' ')}"


def _vector(
    config: ColumnElement[Any],
    subject: ColumnElement[Any],
    people: ColumnElement[Any],
    body: ColumnElement[Any],
    files: ColumnElement[Any],
) -> ColumnElement[Any]:
    """Subject (weight A), people (B), new text (C) and attachment names (D), each read with the
    message's own text search configuration."""

    def weighted(text: ColumnElement[Any], weight: str) -> ColumnElement[Any]:
        # An untyped literal, so PostgreSQL reads it as setweight's "char" (weights are fixed).
        return func.setweight(func.to_tsvector(config, text), literal_column(f"'{weight}'"))

    return (
        weighted(subject, "A")
        .op("||")(weighted(people, "B"))
        .op("||")(weighted(body, "C"))
        .op("||")(weighted(files, "D"))
    )


def search_vector(
    config: str, *, subject: str, people: str, body: str, files: str
) -> ColumnElement[Any]:
    """The full-text vector of a message written outside :func:`ingest_batch` (a sent one)."""
    return _vector(
        cast(literal(config, Text), REGCONFIG),
        literal(subject, Text),
        literal(people, Text),
        literal(body[:_MAX_INDEXED_CHARS], Text),
        literal(files, Text),
    )


def thread_candidate(item: IncomingMessage, p: ParsedMessage) -> ThreadCandidate:
    return ThreadCandidate(
        message_id=p.message_id,
        in_reply_to=p.in_reply_to,
        references=p.references,
        normalized_subject=normalize_subject(p.subject),
        subject=p.subject,
        participants=frozenset(
            a.address.lower() for a in [*([p.sender] if p.sender else []), *p.to, *p.cc]
        ),
        date=p.date or item.internal_date,
    )


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


def _insert_messages() -> Any:
    """INSERT of a batch, compiled once; PostgreSQL computes the full-text vector."""
    # The table, not the mapped class: a plain executemany, without the ORM's per-row work.
    return insert(_table(Message)).values(
        search_vector=_vector(
            cast(bindparam("sv_config", type_=Text), REGCONFIG),
            *(
                bindparam(name, type_=Text)
                for name in ("sv_subject", "sv_people", "sv_body", "sv_files")
            ),
        )
    )


_INSERT_MESSAGES = _insert_messages()


async def prepare_messages(runtime: Runtime | None, raws: Sequence[bytes]) -> list[PreparedMessage]:
    """Parse ``raws`` (and split quotes, compress the sources) in the parse pool when it is up,
    else here (``INGEST_PROCESSES``)."""
    processes = processes_for(runtime.settings.ingest_processes) if runtime is not None else 0
    pooled = await prepare_batch(raws, processes=processes)
    return pooled if pooled is not None else [prepare_one(raw) for raw in raws]


async def ingest_batch(
    session: AsyncSession,
    runtime: Runtime | None,
    *,
    account: MailAccount,
    folder: Folder,
    items: Sequence[IncomingMessage],
    dedupe: Literal["uid", "message_id"] = "uid",
    notify: bool = True,
    backfill: bool | None = None,
    prepared: Sequence[PreparedMessage] | None = None,
) -> IngestResult:
    """Store ``items`` in ``folder``; flushes, the caller commits.

    ``dedupe="uid"`` (sync) skips UIDs already stored and adopts a local row of this folder that
    lost its UID (a move or a UIDVALIDITY change) when the Message-ID matches, keeping its AI
    results and tags. ``dedupe="message_id"`` (import) skips messages whose Message-ID — else the
    SHA-256 of the raw source — the account already holds. ``notify`` queues ``new_email`` events
    for after the commit. Stored messages get their ``"pipeline.process"`` job in the same
    transaction; ``backfill`` (default: true for imports) skips summaries and suggestions.
    ``prepared`` is :func:`prepare_messages` of the items' raw sources, one per item, when the
    caller parsed them ahead (the sync parses the next batch while this one is stored).
    """
    result = IngestResult()
    if prepared is not None and len(prepared) != len(items):
        raise ValueError("prepared must match items one to one")
    pending = list(items)
    if dedupe == "uid":
        pending = await _skip_known_uids(session, folder, pending, result)
    if not pending:
        return result

    if prepared is None:
        prepared = await prepare_messages(runtime, [item.raw for item in pending])
    elif len(pending) < len(items):
        by_item = {id(item): ready for item, ready in zip(items, prepared, strict=True)}
        prepared = [by_item[id(item)] for item in pending]
    keyed = [
        (item, ready, ready.parsed.message_id or f"sha256:{ready.parsed.raw_sha256}")
        for item, ready in zip(pending, prepared, strict=True)
    ]

    if dedupe == "uid":
        keyed = await _adopt_moved(session, folder, keyed, result)
    else:
        keyed = await _skip_known_messages(session, account, keyed, result)
    if not keyed:
        return result

    candidates = [thread_candidate(item, ready.parsed) for item, ready, _ in keyed]
    touched = await assign_threads(
        session, user_id=account.user_id, account_id=account.id, batch=candidates
    )

    now = datetime.now(UTC)
    message_rows: list[dict[str, Any]] = []
    source_rows: list[dict[str, Any]] = []
    attachment_rows: list[dict[str, Any]] = []
    for (item, ready, key), cand in zip(keyed, candidates, strict=True):
        p = ready.parsed
        message_id = uuid.uuid4()
        cid_map: dict[str, str] = {}
        for att in p.attachments:
            att_id = uuid.uuid4()
            if att.content_id:
                cid_map[att.content_id] = f"/api/emails/{message_id}/attachments/{att_id}"
            attachment_rows.append(
                {
                    "id": att_id,
                    "user_id": account.user_id,
                    "message_id": message_id,
                    "filename": att.filename[:512],
                    "content_type": att.content_type[:255],
                    "size": att.size,
                    "sha256": att.sha256,
                    "content_id": att.content_id[:512] if att.content_id else None,
                    "is_inline": att.is_inline,
                    "content": att.content,
                }
            )
        body_html = p.body_html
        if body_html and cid_map and "data-cid" in body_html:
            body_html = sanitize_html(body_html, cid_map=cid_map).html
        new_text = ready.new_text
        people = " ".join(
            person_terms(a) for a in [*([p.sender] if p.sender else []), *p.to, *p.cc, *p.reply_to]
        )
        config = search_config(p.language, new_text)
        files = " ".join(a.filename for a in p.attachments)
        message_rows.append(
            {
                "id": message_id,
                "user_id": account.user_id,
                "account_id": account.id,
                "folder_id": folder.id,
                "thread_id": cand.thread_id,
                "uid": item.uid,
                "uidvalidity": item.uidvalidity,
                "message_id_header": p.message_id,
                "in_reply_to": p.in_reply_to,
                "references": list(p.references),
                "dedupe_key": key[:128],
                "subject": p.subject,
                "sender_name": p.sender.name if p.sender else "",
                "sender_address": (p.sender.address if p.sender else "")[:320],
                "to_addrs": [_addr(a) for a in p.to],
                "cc_addrs": [_addr(a) for a in p.cc],
                "bcc_addrs": [_addr(a) for a in p.bcc],
                "reply_to": [_addr(a) for a in p.reply_to],
                "headers": p.headers,
                "date": p.date or item.internal_date,
                "received_at": item.internal_date or p.date or now,
                "size": p.size,
                "preview": preview(new_text),
                "body_text": p.body_text,
                "body_new_text": new_text,
                "body_html": body_html,
                "has_remote_images": p.has_remote_images,
                "has_attachments": any(not a.is_inline for a in p.attachments),
                "has_calendar": p.has_calendar,
                "modseq": item.modseq,
                "language": config,
                "sv_config": config,
                "sv_subject": p.subject,
                "sv_people": people,
                "sv_body": new_text[:_MAX_INDEXED_CHARS],
                "sv_files": files,
                "parse_defects": p.defects,
                "parse_error": p.parse_error,
                **flag_columns(item.flags),
            }
        )
        source_rows.append(
            {
                "message_id": message_id,
                "compression": "zlib",
                "raw": ready.raw_zlib,
                "raw_size": len(item.raw),
                "sha256": p.raw_sha256,
            }
        )
        result.stored.append(message_id)

    await session.execute(_INSERT_MESSAGES, message_rows)
    await copy_rows(session, _table(MessageSource), source_rows)
    await copy_rows(session, _table(Attachment), attachment_rows)
    await refresh_threads(session, touched)
    unread = sum(not row["is_read"] for row in message_rows)
    await session.execute(
        update(Folder)
        .where(Folder.id == folder.id)
        .values(
            total_count=Folder.total_count + len(message_rows),
            unread_count=Folder.unread_count + unread,
        )
    )
    if runtime is not None:
        from mailmind.search.cache import bump_after_commit

        bump_after_commit(session, runtime.store, account.user_id)
    if notify and runtime is not None:
        _queue_new_email_events(session, runtime, account, folder, message_rows)
    from mailmind.pipeline import enqueue

    # Imports and the backfill of older mail get no precomputed summaries or suggestions.
    await enqueue(
        session,
        account_id=account.id,
        message_ids=result.stored,
        backfill=dedupe == "message_id" if backfill is None else backfill,
    )
    return result


async def _skip_known_uids(
    session: AsyncSession,
    folder: Folder,
    items: list[IncomingMessage],
    result: IngestResult,
) -> list[IncomingMessage]:
    uids = [item.uid for item in items if item.uid is not None]
    known: set[tuple[int | None, int | None]] = set()
    if uids:
        query = select(Message.uidvalidity, Message.uid).where(
            Message.account_id == folder.account_id,
            Message.folder_id == folder.id,
            Message.uid.in_(uids),
        )
        validities = {item.uidvalidity for item in items}
        if None not in validities:
            # All four columns of the unique key: an index lookup per UID, however many rows
            # the folder holds.
            query = query.where(Message.uidvalidity.in_(validities))
        known = {(v, u) for v, u in await session.execute(query)}
    kept: list[IncomingMessage] = []
    seen: set[tuple[int | None, int | None]] = set()
    for item in items:
        ident = (item.uidvalidity, item.uid)
        if item.uid is not None and (ident in known or ident in seen):
            result.duplicates += 1
            continue
        seen.add(ident)
        kept.append(item)
    return kept


Keyed = list[tuple[IncomingMessage, PreparedMessage, str]]


async def _adopt_moved(
    session: AsyncSession, folder: Folder, keyed: Keyed, result: IngestResult
) -> Keyed:
    """Give a UID back to a local row of this folder with the same Message-ID that has none."""
    ids = [r.parsed.message_id for _, r, _ in keyed if r.parsed.message_id]
    if not ids:
        return keyed
    rows = await session.execute(
        select(Message.id, Message.message_id_header).where(
            Message.account_id == folder.account_id,  # the (account, Message-ID) index
            Message.folder_id == folder.id,
            Message.uid.is_(None),
            Message.deleted_at.is_(None),
            Message.message_id_header.in_(ids),
        )
    )
    orphans: dict[str, list[uuid.UUID]] = {}
    for row_id, mid in rows:
        if mid is not None:
            orphans.setdefault(mid, []).append(row_id)
    kept: Keyed = []
    for item, ready, key in keyed:
        waiting = orphans.get(ready.parsed.message_id or "")
        if waiting:
            row_id = waiting.pop(0)
            await session.execute(
                update(Message)
                .where(Message.id == row_id)
                .values(
                    uid=item.uid,
                    uidvalidity=item.uidvalidity,
                    modseq=item.modseq,
                    **flag_columns(item.flags),
                )
            )
            result.adopted.append(row_id)
            continue
        kept.append((item, ready, key))
    return kept


async def _skip_known_messages(
    session: AsyncSession, account: MailAccount, keyed: Keyed, result: IngestResult
) -> Keyed:
    keys = list({key[:128] for _, _, key in keyed})
    rows = await session.scalars(
        select(Message.dedupe_key).where(
            Message.user_id == account.user_id,
            Message.account_id == account.id,
            Message.dedupe_key.in_(keys),
        )
    )
    known = set(rows)
    kept: Keyed = []
    for entry in keyed:
        key = entry[2][:128]
        if key in known:
            result.duplicates += 1
            continue
        known.add(key)
        kept.append(entry)
    return kept


def _queue_new_email_events(
    session: AsyncSession,
    runtime: Runtime,
    account: MailAccount,
    folder: Folder,
    rows: list[dict[str, Any]],
) -> None:
    from mailmind.realtime.publish import publish_after_commit

    for row in rows:
        publish_after_commit(
            session,
            runtime.store,
            account.user_id,
            "new_email",
            {
                "email_id": str(row["id"]),
                "account_id": str(account.id),
                "folder_id": str(folder.id),
                "thread_id": str(row["thread_id"]) if row["thread_id"] else None,
                "subject": row["subject"],
                "sender": {"name": row["sender_name"], "address": row["sender_address"]},
                "preview": row["preview"],
                "received_at": row["received_at"].isoformat(),
            },
        )
