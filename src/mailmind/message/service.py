"""Reading and organising mail: lists, the reader, flags, moves, deletes, snooze, tags and bulk
actions (PRODUCT_SPEC §2.4).

Every change is applied locally first (optimistic), announced with ``email_updated`` after the
commit, and mirrored to the mail server by a ``message.write_back`` job queued in the same
transaction (see :mod:`mailmind.message.tasks`); local (import) accounts have no server.
"""

from __future__ import annotations

import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.errors import MailError, ResourceError, ValidationFailed, not_found
from mailmind.jobs.queue import defer
from mailmind.kit.pagination import decode_cursor, encode_cursor
from mailmind.kit.time import utcnow
from mailmind.mailbox import repository as folders_repo
from mailmind.message import repository as repo
from mailmind.message.repository import MessageFilter, SortKey
from mailmind.message.sanitize import sanitize_html
from mailmind.message.schemas import (
    CATEGORIES,
    ActionItem,
    AddressRead,
    AttachmentRead,
    BulkFailure,
    BulkResult,
    EmailDetail,
    EmailSummary,
    PriorityReason,
)
from mailmind.models import Attachment, Folder, MailAccount, Message, MessageSource
from mailmind.realtime.publish import publish_after_commit
from mailmind.runtime import Runtime
from mailmind.search.cache import bump_after_commit
from mailmind.tag import repository as tags_repo
from mailmind.tag import service as tag_service
from mailmind.tag.keywords import imap_keyword
from mailmind.thread.threading import refresh_threads

WRITE_BACK_TASK = "message.write_back"
MAX_SNOOZE = timedelta(days=366)
# Types a browser may show in place; everything else is served as a download (spec §2.4).
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
# Folder names used when an account has no folder with the role yet.
DEFAULT_FOLDER_NAMES = {"archive": "Archive", "trash": "Trash"}


def priority_band(priority: int | None) -> str | None:
    """§7: high ≥70, medium 40–69, low <40."""
    if priority is None:
        return None
    return "high" if priority >= 70 else "medium" if priority >= 40 else "low"


# --- loading --------------------------------------------------------------------------------------


async def get_owned(session: AsyncSession, user_id: uuid.UUID, message_id: uuid.UUID) -> Message:
    """The caller's live message: RES001 when missing or another user's, RES002 when deleted."""
    message = await repo.get_message(session, message_id)
    if message is None or message.user_id != user_id:
        raise not_found("email")
    if message.deleted_at is not None:
        raise ResourceError("RES002", "This email was deleted")
    return message


async def _account(session: AsyncSession, account_id: uuid.UUID) -> MailAccount:
    account = await folders_repo.get_account(session, account_id)
    assert account is not None  # messages cascade with their account
    return account


# --- lists ----------------------------------------------------------------------------------------


def cursor_values(keys: Sequence[SortKey], row: Any) -> list[Any]:
    values: list[Any] = []
    for key in keys:
        value = getattr(row, key.column.key)
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    return values


def decode_cursor_values(keys: Sequence[SortKey], cursor: str | None) -> list[Any] | None:
    raw = decode_cursor(cursor, len(keys))
    if raw is None:
        return None
    values: list[Any] = []
    try:
        for key, value in zip(keys, raw, strict=True):
            if value is None:
                values.append(None)
            elif key.kind == "datetime":
                values.append(datetime.fromisoformat(str(value)))
            elif key.kind == "uuid":
                values.append(uuid.UUID(str(value)))
            else:
                values.append(int(value))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("VAL002", "Invalid cursor", details={"field": "cursor"}) from exc
    if values[-1] is None:
        raise ValidationFailed("VAL002", "Invalid cursor", details={"field": "cursor"})
    return values


async def check_scope(session: AsyncSession, f: MessageFilter) -> None:
    """The account and folder a list names must be the caller's (RES001, EMAIL007)."""
    if f.account_id is not None:
        account = await folders_repo.get_account(session, f.account_id)
        if account is None or account.user_id != f.user_id:
            raise not_found("account")
    if f.folder_id is not None:
        folder = await folders_repo.get_folder(session, f.folder_id)
        if (
            folder is None
            or folder.user_id != f.user_id
            or (f.account_id is not None and folder.account_id != f.account_id)
        ):
            raise MailError("EMAIL007", "Unknown folder", details={"field": "folder_id"})


async def list_emails(
    session: AsyncSession, f: MessageFilter, *, sort: str, cursor: str | None, limit: int
) -> tuple[list[EmailSummary], str | None]:
    await check_scope(session, f)
    keys = repo.SORTS[sort]
    after = decode_cursor_values(keys, cursor)
    rows = await repo.list_messages(session, f, keys=keys, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(*cursor_values(keys, rows[-1])) if more and rows else None
    return await summaries(session, rows), next_cursor


# --- rendering ------------------------------------------------------------------------------------


def _addresses(items: Iterable[dict[str, str]]) -> list[AddressRead]:
    return [
        AddressRead(name=item.get("name") or "", address=item.get("address") or "")
        for item in items
    ]


def _summary(message: Message, tags: list[str]) -> EmailSummary:
    return EmailSummary(
        id=message.id,
        account_id=message.account_id,
        folder_id=message.folder_id,
        thread_id=message.thread_id,
        subject=message.subject,
        sender=AddressRead(name=message.sender_name, address=message.sender_address),
        to=_addresses(message.to_addrs),
        date=message.date,
        preview=message.preview,
        is_read=message.is_read,
        is_starred=message.is_starred,
        has_attachments=message.has_attachments,
        category=message.category,
        needs_review=message.needs_review,
        priority=message.priority,
        priority_band=message.priority_band,
        tags=tags,
        snoozed_until=message.snoozed_until,
        send_status=message.send_status,
        ai_status=message.ai_status,
    )


async def summaries(session: AsyncSession, messages: Sequence[Message]) -> list[EmailSummary]:
    tags = await tags_repo.paths_of(session, [m.id for m in messages])
    return [_summary(m, tags[m.id]) for m in messages]


def attachment_url(message_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
    return f"/api/emails/{message_id}/attachments/{attachment_id}"


def _parse_items(model: type[Any], items: Any) -> list[Any]:
    parsed = []
    for item in items if isinstance(items, list) else []:
        try:
            parsed.append(model.model_validate(item))
        except ValidationError:
            continue
    return parsed


async def detail(session: AsyncSession, message: Message) -> EmailDetail:
    tags = (await tags_repo.paths_of(session, [message.id]))[message.id]
    files = (await repo.attachments(session, [message.id]))[message.id]
    body_html = message.body_html
    if body_html and "data-cid" in body_html:
        # Inline images whose Content-ID was not resolved when the mail was stored.
        cid_map = {a.content_id: attachment_url(message.id, a.id) for a in files if a.content_id}
        if cid_map:
            body_html = sanitize_html(body_html, cid_map=cid_map).html
    outputs = await repo.ai_outputs(session, message)
    summary_out = outputs.get("summary", {})
    summary = summary_out.get("summary") or summary_out.get("text")
    action_items = summary_out.get("action_items")
    if action_items is None:
        action_items = outputs.get("action_items", {}).get("items", [])
    reasons = _parse_items(PriorityReason, outputs.get("priority", {}).get("reasons", []))
    override = await repo.last_feedback(session, message.id, "priority")
    if override is not None and override.new_value == message.priority:
        reasons = [PriorityReason(code="user_override", text="Set by you", weight=None)]
    base = _summary(message, tags)
    return EmailDetail(
        **base.model_dump(),
        cc=_addresses(message.cc_addrs),
        reply_to=_addresses(message.reply_to),
        body_text=message.body_text,
        body_html=body_html,
        has_remote_images=message.has_remote_images,
        attachments=[_attachment_read(message.id, a) for a in files],
        summary=summary if isinstance(summary, str) else None,
        action_items=_parse_items(ActionItem, action_items),
        priority_reasons=reasons,
    )


def _attachment_read(message_id: uuid.UUID, attachment: Attachment) -> AttachmentRead:
    return AttachmentRead(
        id=attachment.id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        content_id=attachment.content_id,
        is_inline=attachment.is_inline,
        url=attachment_url(message_id, attachment.id),
    )


# --- events and write-back ------------------------------------------------------------------------


def _publish(
    session: AsyncSession,
    runtime: Runtime,
    user_id: uuid.UUID,
    ids: Sequence[uuid.UUID],
    changes: dict[str, Any],
) -> None:
    if ids:
        publish_after_commit(
            session,
            runtime.store,
            user_id,
            "email_updated",
            {"email_ids": [str(i) for i in ids], "changes": changes},
        )
        # Every change is announced here, so cached search results are dropped here too.
        bump_after_commit(session, runtime.store, user_id)


async def queue_write_back(
    session: AsyncSession, account: MailAccount, op: str, **payload: Any
) -> None:
    """Queue the server side of a local change, in order with the account's sync."""
    if account.kind == "local":
        return
    await defer(
        session,
        WRITE_BACK_TASK,
        lock=f"account:{account.id}",
        account_id=str(account.id),
        op=op,
        **payload,
    )


def _by_account(messages: Iterable[Message]) -> dict[uuid.UUID, list[Message]]:
    groups: dict[uuid.UUID, list[Message]] = defaultdict(list)
    for message in messages:
        groups[message.account_id].append(message)
    return groups


async def _refresh_threads(session: AsyncSession, messages: Iterable[Message]) -> None:
    await session.flush()
    await refresh_threads(session, {m.thread_id for m in messages if m.thread_id is not None})


# --- changes --------------------------------------------------------------------------------------


async def set_flags(
    session: AsyncSession,
    runtime: Runtime,
    messages: Sequence[Message],
    *,
    is_read: bool | None = None,
    is_starred: bool | None = None,
) -> None:
    changes: dict[str, Any] = {}
    if is_read is not None:
        changes["is_read"] = is_read
    if is_starred is not None:
        changes["is_starred"] = is_starred
    changed = [
        m
        for m in messages
        if (is_read is not None and m.is_read != is_read)
        or (is_starred is not None and m.is_starred != is_starred)
    ]
    if not changed:
        return
    for message in changed:
        if is_read is not None:
            message.is_read = is_read
        if is_starred is not None:
            message.is_starred = is_starred
    await _refresh_threads(session, changed)
    for account_id, group in _by_account(changed).items():
        await queue_write_back(
            session,
            await _account(session, account_id),
            "flags",
            message_ids=[str(m.id) for m in group],
        )
    _publish(session, runtime, changed[0].user_id, [m.id for m in changed], changes)


async def move(
    session: AsyncSession, runtime: Runtime, messages: Sequence[Message], target: Folder
) -> None:
    """Move into ``target`` (same account, checked by the caller). Locally the UID is cleared:
    it belonged to the old folder; the write-back sets the new one (COPYUID), else the next sync
    finds the message by its Message-ID."""
    moved = [m for m in messages if m.folder_id != target.id]
    if not moved:
        return
    items = [
        {
            "id": str(m.id),
            "from_folder_id": str(m.folder_id) if m.folder_id else None,
            "uid": m.uid,
            "uidvalidity": m.uidvalidity,
        }
        for m in moved
    ]
    for message in moved:
        message.folder_id = target.id
        message.uid = None
        message.uidvalidity = None
    await session.flush()
    await queue_write_back(
        session,
        await _account(session, target.account_id),
        "move",
        to_folder_id=str(target.id),
        items=items,
    )
    _publish(session, runtime, moved[0].user_id, [m.id for m in moved], {"folder_id": target.id})


async def role_folder(session: AsyncSession, account: MailAccount, role: str) -> Folder:
    """The account's folder with ``role`` (archive, trash), created locally and on the server
    when missing."""
    folder = await folders_repo.find_role_folder(session, account.id, role)
    if folder is not None:
        return folder
    name = DEFAULT_FOLDER_NAMES[role]
    existing = await folders_repo.find_folder_by_path(session, account.id, name)
    if existing is not None:
        return existing
    folder = await folders_repo.create_folder(
        session,
        account,
        path=name,
        name=name,
        parent_id=None,
        delimiter=await folders_repo.account_delimiter(session, account.id),
        role=role,
    )
    await queue_write_back(session, account, "folder_create", folder_id=str(folder.id))
    return folder


async def _folder_roles(
    session: AsyncSession, messages: Sequence[Message]
) -> dict[uuid.UUID, Folder]:
    return await repo.folders_by_id(session, [m.folder_id for m in messages if m.folder_id])


async def archive(session: AsyncSession, runtime: Runtime, messages: Sequence[Message]) -> None:
    for account_id, group in _by_account(messages).items():
        target = await role_folder(session, await _account(session, account_id), "archive")
        await move(session, runtime, group, target)


async def delete(session: AsyncSession, runtime: Runtime, messages: Sequence[Message]) -> None:
    """Mail outside Trash moves to Trash; mail in Trash is deleted for good (and expunged)."""
    folders = await _folder_roles(session, messages)
    for account_id, group in _by_account(messages).items():
        account = await _account(session, account_id)
        in_trash = [m for m in group if m.folder_id is None or folders[m.folder_id].role == "trash"]
        elsewhere = [m for m in group if m not in in_trash]
        if elsewhere:
            await move(session, runtime, elsewhere, await role_folder(session, account, "trash"))
        if in_trash:
            await _expunge(session, runtime, account, in_trash)


async def _expunge(
    session: AsyncSession, runtime: Runtime, account: MailAccount, messages: Sequence[Message]
) -> None:
    now = utcnow()
    items = [
        {
            "id": str(m.id),
            "folder_id": str(m.folder_id) if m.folder_id else None,
            "uid": m.uid,
            "uidvalidity": m.uidvalidity,
        }
        for m in messages
    ]
    for message in messages:
        message.deleted_at = now
        message.snoozed_until = None
    await _refresh_threads(session, messages)
    await queue_write_back(session, account, "expunge", items=items)
    _publish(session, runtime, account.user_id, [m.id for m in messages], {"deleted": True})


async def _target_folder(session: AsyncSession, user_id: uuid.UUID, folder_id: uuid.UUID) -> Folder:
    folder = await folders_repo.get_folder(session, folder_id)
    if folder is None or folder.user_id != user_id:
        raise MailError("EMAIL007", "Unknown folder", details={"field": "folder_id"})
    return folder


async def set_category(
    session: AsyncSession, runtime: Runtime, messages: Sequence[Message], category: str
) -> None:
    """A category the user sets is a correction the classifier learns from (§2.5 Learning),
    recorded under the classifier's feature name, ``classify``, which a re-run also respects."""
    changed = [m for m in messages if m.category != category]
    for message in changed:
        await repo.add_feedback(
            session, message, feature="classify", old_value=message.category, new_value=category
        )
        message.category = category
        message.needs_review = False
    if changed:
        await session.flush()
        _publish(
            session,
            runtime,
            changed[0].user_id,
            [m.id for m in changed],
            {"category": category, "needs_review": False},
        )


async def set_priority(
    session: AsyncSession, runtime: Runtime, message: Message, priority: int
) -> None:
    if message.priority == priority:
        return
    await repo.add_feedback(
        session, message, feature="priority", old_value=message.priority, new_value=priority
    )
    message.priority = priority
    message.priority_band = priority_band(priority)
    await session.flush()
    _publish(
        session,
        runtime,
        message.user_id,
        [message.id],
        {"priority": priority, "priority_band": message.priority_band},
    )


async def update(
    session: AsyncSession,
    runtime: Runtime,
    message: Message,
    *,
    is_read: bool | None = None,
    is_starred: bool | None = None,
    folder_id: uuid.UUID | None = None,
    category: str | None = None,
    priority: int | None = None,
) -> None:
    target: Folder | None = None
    if folder_id is not None:
        target = await _target_folder(session, message.user_id, folder_id)
        if target.account_id != message.account_id:
            raise MailError(
                "EMAIL007", "Mail moves only within its account", details={"field": "folder_id"}
            )
    await set_flags(session, runtime, [message], is_read=is_read, is_starred=is_starred)
    if target is not None:
        await move(session, runtime, [message], target)
    if category is not None:
        await set_category(session, runtime, [message], category)
    if priority is not None:
        await set_priority(session, runtime, message, priority)


def check_snooze(until: datetime) -> datetime:
    if until.tzinfo is None:
        raise ValidationFailed("VAL007", "`until` needs a time zone", details={"field": "until"})
    now = utcnow()
    if until <= now or until > now + MAX_SNOOZE:
        raise ValidationFailed(
            "VAL003",
            "Snooze until a time in the next year",
            details={"field": "until"},
        )
    return until


async def snooze(
    session: AsyncSession,
    runtime: Runtime,
    messages: Sequence[Message],
    until: datetime | None,
) -> None:
    """Snoozed mail shows only in the Snoozed view until ``until`` (``None`` wakes it now)."""
    for message in messages:
        message.snoozed_until = until
    if messages:
        await session.flush()
        _publish(
            session,
            runtime,
            messages[0].user_id,
            [m.id for m in messages],
            {"snoozed_until": until},
        )


async def wake_snoozed(session: AsyncSession, runtime: Runtime, *, limit: int = 500) -> int:
    """Bring back snoozed mail that is due: unread again, with ``email_updated`` and a
    ``snooze_due`` notification. Returns how many woke."""
    due = await repo.due_snoozed(session, utcnow(), limit=limit)
    for message in due:
        message.snoozed_until = None
    by_user: dict[uuid.UUID, list[Message]] = defaultdict(list)
    for message in due:
        by_user[message.user_id].append(message)
    for user_id, group in by_user.items():
        _publish(session, runtime, user_id, [m.id for m in group], {"snoozed_until": None})
        await set_flags(session, runtime, group, is_read=False)
        for message in group:
            notification = await repo.add_notification(
                session,
                user_id=user_id,
                type="snooze_due",
                title=message.subject or "(no subject)",
                body=f"Snoozed mail from {message.sender_name or message.sender_address} is back",
                message_id=message.id,
            )
            publish_after_commit(
                session,
                runtime.store,
                user_id,
                "notification",
                {
                    "id": notification.id,
                    "type": notification.type,
                    "title": notification.title,
                    "body": notification.body,
                    "email_id": message.id,
                    "created_at": notification.created_at,
                },
            )
    await session.flush()
    return len(due)


async def change_tags(
    session: AsyncSession,
    runtime: Runtime,
    messages: Sequence[Message],
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> None:
    """Add tags (created when missing) and remove tags by path. Removing a tag the AI set is a
    correction the tagger learns from."""
    if not messages:
        return
    user_id = messages[0].user_id
    ids = [m.id for m in messages]
    added_paths: list[str] = []
    removed_paths: list[str] = []
    if add:
        added = await tag_service.ensure_tags(session, user_id, add)
        await tags_repo.link(session, ids, [t.id for t in added])
        added_paths = [t.path for t in added]
    if remove:
        known = await tags_repo.find_by_paths(
            session, user_id, [tag_service.normalize_path(p) for p in remove]
        )
        removed = await tags_repo.unlink(session, ids, [t.id for t in known.values()])
        removed_paths = [t.path for t in known.values()]
        paths = {t.id: t.path for t in known.values()}
        by_id = {m.id: m for m in messages}
        for message_id, tag_id, source in removed:
            if source == "ai":
                await repo.add_feedback(
                    session,
                    by_id[message_id],
                    feature="tags",
                    old_value=paths[tag_id],
                    new_value=None,
                )
    await session.flush()
    await _queue_keywords(session, messages, added_paths, removed_paths)
    current = await tags_repo.paths_of(session, ids)
    if len(messages) == 1:
        _publish(session, runtime, user_id, ids, {"tags": current[ids[0]]})
    else:
        _publish(
            session, runtime, user_id, ids, {"tags_added": list(add), "tags_removed": list(remove)}
        )


async def _queue_keywords(
    session: AsyncSession, messages: Sequence[Message], added: list[str], removed: list[str]
) -> None:
    """The user's tag changes, as IMAP keywords on the server's copies (the AI's own tags stay
    local: other clients would fill up with guesses)."""
    add = sorted({imap_keyword(p) for p in added})
    remove = sorted({imap_keyword(p) for p in removed} - set(add))
    if not add and not remove:
        return
    for account_id, group in _by_account(messages).items():
        await queue_write_back(
            session,
            await _account(session, account_id),
            "keywords",
            message_ids=[str(m.id) for m in group],
            add=add,
            remove=remove,
        )


async def tags_of(session: AsyncSession, message: Message) -> list[str]:
    return (await tags_repo.paths_of(session, [message.id]))[message.id]


# --- bulk -----------------------------------------------------------------------------------------


def _param(params: dict[str, Any], name: str) -> Any:
    if name not in params:
        raise ValidationFailed(
            "VAL001", f"params.{name} is required", details={"field": f"params.{name}"}
        )
    return params[name]


def _tag_list(params: dict[str, Any]) -> list[str]:
    tags = _param(params, "tags")
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
        raise ValidationFailed(
            "VAL002", "params.tags is a list of tag paths", details={"field": "params.tags"}
        )
    if len(tags) > 50:
        raise ValidationFailed("VAL003", "At most 50 tags", details={"field": "params.tags"})
    for tag in tags:
        tag_service.normalize_path(tag)
    return tags


async def bulk(
    session: AsyncSession,
    runtime: Runtime,
    user_id: uuid.UUID,
    *,
    email_ids: Sequence[uuid.UUID],
    action: str,
    params: dict[str, Any],
) -> BulkResult:
    """One action on up to 1000 messages; ids that are not the caller's fail as RES001, deleted
    ones as RES002, mail of another account than a move's folder as EMAIL007."""
    # Validate the parameters before touching anything.
    target_id: uuid.UUID | None = None
    category: str | None = None
    until: datetime | None = None
    tags: list[str] = []
    if action == "move":
        try:
            target_id = uuid.UUID(str(_param(params, "folder_id")))
        except ValueError as exc:
            raise ValidationFailed(
                "VAL002", "params.folder_id is a folder id", details={"field": "params.folder_id"}
            ) from exc
    elif action == "set_category":
        category = _param(params, "category")
        if category not in CATEGORIES:
            raise ValidationFailed(
                "VAL002", "Unknown category", details={"field": "params.category"}
            )
    elif action == "snooze":
        try:
            until = datetime.fromisoformat(str(_param(params, "until")).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationFailed(
                "VAL007", "params.until is an ISO-8601 time", details={"field": "params.until"}
            ) from exc
        until = check_snooze(until)
    elif action in ("tag", "untag"):
        tags = _tag_list(params)
    target = await _target_folder(session, user_id, target_id) if target_id else None

    ids = list(dict.fromkeys(email_ids))
    found = {m.id: m for m in await repo.messages_by_ids(session, user_id, ids, lock=True)}
    failed: list[BulkFailure] = []
    live: list[Message] = []
    for message_id in ids:
        message = found.get(message_id)
        if message is None:
            failed.append(BulkFailure(id=message_id, code="RES001"))
        elif message.deleted_at is not None:
            failed.append(BulkFailure(id=message_id, code="RES002"))
        elif target is not None and message.account_id != target.account_id:
            failed.append(BulkFailure(id=message_id, code="EMAIL007"))
        else:
            live.append(message)
    if action == "mark_read":
        await set_flags(session, runtime, live, is_read=True)
    elif action == "mark_unread":
        await set_flags(session, runtime, live, is_read=False)
    elif action == "star":
        await set_flags(session, runtime, live, is_starred=True)
    elif action == "unstar":
        await set_flags(session, runtime, live, is_starred=False)
    elif action == "archive":
        await archive(session, runtime, live)
    elif action == "move":
        assert target is not None
        await move(session, runtime, live, target)
    elif action == "delete":
        await delete(session, runtime, live)
    elif action == "tag":
        await change_tags(session, runtime, live, add=tags)
    elif action == "untag":
        await change_tags(session, runtime, live, remove=tags)
    elif action == "set_category":
        assert category is not None
        await set_category(session, runtime, live, category)
    elif action == "snooze":
        await snooze(session, runtime, live, until)
    return BulkResult(succeeded=[m.id for m in live], failed=failed)


# --- content --------------------------------------------------------------------------------------


def raw_source(source: MessageSource | None) -> bytes:
    if source is None:
        raise not_found("source")
    if source.compression == "zlib":
        return zlib.decompress(source.raw)
    return source.raw


async def get_raw(session: AsyncSession, message: Message) -> bytes:
    return raw_source(await repo.get_source(session, message.id))


@dataclass(frozen=True)
class Download:
    content: bytes
    filename: str
    content_type: str
    inline: bool


def _download(attachment: Attachment | None, *, inline_wanted: bool) -> Download:
    if attachment is None or attachment.content is None:
        raise not_found("attachment")
    declared = attachment.content_type.split(";", 1)[0].strip().lower()
    safe = declared in INLINE_TYPES
    return Download(
        content=attachment.content,
        filename=attachment.filename or "attachment",
        # A type a browser could run (HTML, SVG, scripts) is never served under its own name.
        content_type=declared if safe else "application/octet-stream",
        inline=safe and inline_wanted,
    )


async def get_attachment(
    session: AsyncSession, message: Message, attachment_id: uuid.UUID, *, inline: bool
) -> Download:
    return _download(
        await repo.get_attachment(session, message.id, attachment_id), inline_wanted=inline
    )


async def get_cid(session: AsyncSession, message: Message, content_id: str) -> Download:
    cid = content_id.strip().strip("<>")
    return _download(await repo.attachment_by_cid(session, message.id, cid), inline_wanted=True)
