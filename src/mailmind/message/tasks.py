"""Mail jobs: the IMAP write-back of local changes and waking snoozed mail.

``message.write_back`` runs under the lock ``account:{id}``, so it is ordered with the account's
sync and with the other write-backs. Each operation carries what it needs from the moment of
the change (the UID a moved message had in its old folder, a folder's previous path) and reloads
the rest. When the server refuses a change, the server wins (PRODUCT_SPEC §2.3): the local change
is rolled back to the server's state and ``email_updated`` tells the clients.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from mailmind.account import service as account_service
from mailmind.integrations.errors import MailAdapterError
from mailmind.integrations.imap import ImapConfig, ImapConnection, ImapError, open_imap
from mailmind.jobs.queue import PermanentJobError, task
from mailmind.mailbox import repository as folders_repo
from mailmind.message import repository as repo
from mailmind.message import service
from mailmind.models import Folder, MailAccount, Message
from mailmind.realtime.publish import publish_after_commit
from mailmind.runtime import Runtime
from mailmind.thread.threading import refresh_threads

log = structlog.get_logger(__name__)

Handler = Callable[[Runtime, MailAccount, ImapConnection, dict[str, Any]], Awaitable[None]]


def _refused(exc: ImapError) -> bool:
    """The server answered and said no (as opposed to a dropped connection)."""
    return not exc.transient and exc.reason in ("protocol", "folder")


def _has_flag(flags: Sequence[str], flag: str) -> bool:
    return flag.lower() in {f.lower() for f in flags}


@task("message.wake_snoozed", cron="* * * * *")
async def wake_snoozed(runtime: Runtime, *, timestamp: int | None = None) -> None:
    """Every minute: snoozed mail that is due comes back unread."""
    while True:
        async with runtime.db.session() as session:
            woke = await service.wake_snoozed(session, runtime, limit=500)
        if woke < 500:
            return


@task("message.write_back")
async def write_back(runtime: Runtime, *, account_id: str, op: str, **payload: Any) -> None:
    """Mirror one local change of ``account_id`` to its IMAP server."""
    handler = HANDLERS.get(op)
    if handler is None:
        raise PermanentJobError(f"unknown write-back operation {op!r}")
    async with runtime.db.session() as session:
        account = await folders_repo.get_account(session, uuid.UUID(account_id))
        if account is None or account.kind == "local":
            return
        if account.sync_state in ("auth_required", "disabled"):
            # The next sync after new credentials brings the server's state (server wins).
            log.info("write_back_skipped", account_id=account_id, state=account.sync_state)
            return
        try:
            config, _ = await account_service.connection_configs(session, runtime, account)
        except MailAdapterError as exc:
            if exc.transient:
                raise
            log.warning("write_back_no_credentials", account_id=account_id, reason=exc.reason)
            return
    await _run(runtime, account, config, handler, payload)


async def _run(
    runtime: Runtime,
    account: MailAccount,
    config: ImapConfig,
    handler: Handler,
    payload: dict[str, Any],
) -> None:
    try:
        async with open_imap(config) as conn:
            await handler(runtime, account, conn, payload)
    except ImapError as exc:
        if exc.reason == "auth":
            async with runtime.db.session() as session:
                fresh = await folders_repo.get_account(session, account.id)
                if fresh is not None:
                    await account_service.mark_auth_required(session, runtime, fresh, exc.message)
            return
        if exc.transient:
            raise
        raise PermanentJobError(f"{exc.reason}: {exc.message}") from exc


# --- flags ----------------------------------------------------------------------------------------


async def _on_server(
    runtime: Runtime, message_ids: Sequence[str]
) -> list[tuple[Folder, int | None, list[Message]]]:
    """The messages that are on the server under a known UID, per folder with the folder's
    UIDVALIDITY they were stored under (the others: the sync settles them)."""
    plan: dict[uuid.UUID, tuple[Folder, int | None, list[Message]]] = {}
    async with runtime.db.session() as session:
        messages = await repo.messages_with_ids(session, [uuid.UUID(i) for i in message_ids])
        folders = await repo.folders_by_id(session, [m.folder_id for m in messages if m.folder_id])
        for m in messages:
            if m.deleted_at is not None or m.uid is None or m.folder_id not in folders:
                continue
            entry = plan.setdefault(m.folder_id, (folders[m.folder_id], m.uidvalidity, []))
            if entry[1] == m.uidvalidity:
                entry[2].append(m)
    return list(plan.values())


@dataclass(frozen=True)
class _FlagItem:
    message_id: uuid.UUID
    uid: int
    is_read: bool
    is_starred: bool


async def _flags(
    runtime: Runtime, account: MailAccount, conn: ImapConnection, payload: dict[str, Any]
) -> None:
    plan = await _on_server(runtime, payload["message_ids"])
    for folder, uidvalidity, messages in plan:
        items = [_FlagItem(m.id, m.uid, m.is_read, m.is_starred) for m in messages if m.uid]
        try:
            status = await conn.select(folder.path)
            if status.uidvalidity != uidvalidity:
                continue  # the folder was recreated: its UIDs mean other messages now
            for flag, attr in (("\\Seen", "is_read"), ("\\Flagged", "is_starred")):
                on = [i.uid for i in items if getattr(i, attr)]
                off = [i.uid for i in items if not getattr(i, attr)]
                if on:
                    await conn.add_flags(on, [flag])
                if off:
                    await conn.remove_flags(off, [flag])
        except ImapError as exc:
            if not _refused(exc):
                raise
            log.warning("write_back_refused", op="flags", reason=exc.reason)
            await _adopt_server_flags(runtime, conn, folder, items)


async def _keywords(
    runtime: Runtime, account: MailAccount, conn: ImapConnection, payload: dict[str, Any]
) -> None:
    """Tags the user added or removed, as keywords (:mod:`mailmind.tag.keywords`). A folder
    that keeps no new keywords (no ``\\*`` in PERMANENTFLAGS) keeps the tags local only."""
    add, remove = list(payload.get("add", [])), list(payload.get("remove", []))
    for folder, uidvalidity, messages in await _on_server(runtime, payload["message_ids"]):
        uids = [m.uid for m in messages if m.uid]
        try:
            status = await conn.select(folder.path)
            if status.uidvalidity != uidvalidity:
                continue
            if add and not status.new_keywords:
                log.info("write_back_keywords_not_kept", folder=folder.path)
                continue
            await conn.add_flags(uids, add)
            await conn.remove_flags(uids, remove)
        except ImapError as exc:
            if not _refused(exc):
                raise
            log.warning("write_back_refused", op="keywords", reason=exc.reason)


async def _adopt_server_flags(
    runtime: Runtime, conn: ImapConnection, folder: Folder, items: Sequence[_FlagItem]
) -> None:
    try:
        states = await conn.fetch_flags([i.uid for i in items])
    except ImapError as exc:
        if not _refused(exc):
            raise
        return  # the server shows nothing either: the next sync settles it
    by_uid = {s.uid: s for s in states}
    async with runtime.db.session() as session:
        messages = await repo.messages_with_ids(session, [i.message_id for i in items])
        changed = []
        for m in messages:
            state = by_uid.get(m.uid or -1)
            if state is None or m.folder_id != folder.id:
                continue
            is_read, is_starred = (
                _has_flag(state.flags, "\\Seen"),
                _has_flag(state.flags, "\\Flagged"),
            )
            if (m.is_read, m.is_starred) != (is_read, is_starred):
                m.is_read, m.is_starred = is_read, is_starred
                changed.append(m)
                publish_after_commit(
                    session,
                    runtime.store,
                    m.user_id,
                    "email_updated",
                    {
                        "email_ids": [str(m.id)],
                        "changes": {"is_read": is_read, "is_starred": is_starred},
                    },
                )
        await session.flush()
        await refresh_threads(session, {m.thread_id for m in changed if m.thread_id})


async def _answered(
    runtime: Runtime, account: MailAccount, conn: ImapConnection, payload: dict[str, Any]
) -> None:
    """``\\Answered`` on the originals of a sent reply (RFC 3501 §2.3.2)."""
    ids = [uuid.UUID(i) for i in payload["message_ids"]]
    async with runtime.db.session() as session:
        messages = await repo.messages_with_ids(session, ids)
        folders = await repo.folders_by_id(session, [m.folder_id for m in messages if m.folder_id])
    by_folder: dict[uuid.UUID, list[tuple[int, int | None]]] = defaultdict(list)
    for m in messages:
        if m.deleted_at is None and m.uid is not None and m.folder_id in folders:
            by_folder[m.folder_id].append((m.uid, m.uidvalidity))
    for folder_id, items in by_folder.items():
        try:
            status = await conn.select(folders[folder_id].path)
            uids = [uid for uid, validity in items if validity == status.uidvalidity]
            if uids:
                await conn.add_flags(uids, ["\\Answered"])
        except ImapError as exc:
            if not _refused(exc):
                raise
            log.warning("write_back_refused", op="answered", reason=exc.reason)


# --- moves and deletes ----------------------------------------------------------------------------


async def _move(
    runtime: Runtime, account: MailAccount, conn: ImapConnection, payload: dict[str, Any]
) -> None:
    items = [i for i in payload["items"] if i.get("uid") is not None and i.get("from_folder_id")]
    if not items:
        return  # nothing had a known place on the server: the sync matches it by Message-ID
    async with runtime.db.session() as session:
        target = await folders_repo.get_folder(session, uuid.UUID(payload["to_folder_id"]))
        sources = await repo.folders_by_id(session, [uuid.UUID(i["from_folder_id"]) for i in items])
    if target is None:
        return
    groups: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        source_id = uuid.UUID(item["from_folder_id"])
        if source_id in sources:
            groups[source_id].append(item)
    for source_id, group in groups.items():
        source = sources[source_id]
        try:
            status = await conn.select(source.path)
            valid = [i for i in group if i["uidvalidity"] == status.uidvalidity]
            if not valid:
                continue
            mapping = await conn.move([int(i["uid"]) for i in valid], target.path)
        except ImapError as exc:
            if not _refused(exc):
                raise
            log.warning("write_back_refused", op="move", reason=exc.reason)
            await _undo_move(runtime, source, target, group)
            continue
        await _settle_moved(runtime, conn, target, valid, mapping)


async def _undo_move(
    runtime: Runtime, source: Folder, target: Folder, items: Sequence[dict[str, Any]]
) -> None:
    """The server kept the mail where it was: so does the client again."""
    async with runtime.db.session() as session:
        messages = await repo.messages_with_ids(session, [uuid.UUID(i["id"]) for i in items])
        by_id = {str(i["id"]): i for i in items}
        back = []
        for m in messages:
            item = by_id[str(m.id)]
            if m.folder_id == target.id and m.uid is None and m.deleted_at is None:
                m.folder_id = source.id
                m.uid, m.uidvalidity = item["uid"], item["uidvalidity"]
                back.append(m)
        if back:
            publish_after_commit(
                session,
                runtime.store,
                back[0].user_id,
                "email_updated",
                {"email_ids": [str(m.id) for m in back], "changes": {"folder_id": str(source.id)}},
            )


async def _settle_moved(
    runtime: Runtime,
    conn: ImapConnection,
    target: Folder,
    items: Sequence[dict[str, Any]],
    mapping: dict[int, int],
) -> None:
    """Record the new UIDs (COPYUID); mail the user moved on or deleted meanwhile follows."""
    if not mapping:
        return  # no COPYUID: the next sync of the target adopts the rows by Message-ID
    status = await conn.select(target.path)
    new_uids = {uuid.UUID(i["id"]): mapping.get(int(i["uid"])) for i in items}
    expunge: list[int] = []
    onward: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = defaultdict(list)
    async with runtime.db.session() as session:
        for m in await repo.messages_with_ids(session, list(new_uids)):
            new = new_uids.get(m.id)
            if new is None or m.uid is not None:
                continue
            if m.deleted_at is not None:
                expunge.append(new)
            elif m.folder_id == target.id:
                if not await repo.uid_taken(session, target.id, status.uidvalidity, new):
                    m.uid, m.uidvalidity = new, status.uidvalidity
            elif m.folder_id is not None:
                onward[m.folder_id].append((m.id, new))
    if expunge:
        await conn.delete_uids(expunge)
    for folder_id, pairs in onward.items():
        async with runtime.db.session() as session:
            folder = await folders_repo.get_folder(session, folder_id)
        if folder is None or folder.account_id != target.account_id:
            continue
        follow = [
            {"id": str(mid), "uid": uid, "uidvalidity": status.uidvalidity} for mid, uid in pairs
        ]
        try:
            await conn.select(target.path)
            onward_mapping = await conn.move([uid for _, uid in pairs], folder.path)
        except ImapError as exc:
            if not _refused(exc):
                raise
            continue
        await _settle_moved(runtime, conn, folder, follow, onward_mapping)


async def _expunge(
    runtime: Runtime, account: MailAccount, conn: ImapConnection, payload: dict[str, Any]
) -> None:
    items = [i for i in payload["items"] if i.get("uid") is not None and i.get("folder_id")]
    if not items:
        return
    async with runtime.db.session() as session:
        folders = await repo.folders_by_id(session, [uuid.UUID(i["folder_id"]) for i in items])
    groups: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        folder_id = uuid.UUID(item["folder_id"])
        if folder_id in folders:
            groups[folder_id].append(item)
    for folder_id, group in groups.items():
        folder = folders[folder_id]
        try:
            status = await conn.select(folder.path)
            valid = [int(i["uid"]) for i in group if i["uidvalidity"] == status.uidvalidity]
            if valid:
                await conn.delete_uids(valid)
        except ImapError as exc:
            if not _refused(exc):
                raise
            log.warning("write_back_refused", op="expunge", reason=exc.reason)
            await _undelete(runtime, [uuid.UUID(i["id"]) for i in group])


async def _undelete(runtime: Runtime, ids: Sequence[uuid.UUID]) -> None:
    async with runtime.db.session() as session:
        back = [m for m in await repo.messages_with_ids(session, ids) if m.deleted_at is not None]
        for m in back:
            m.deleted_at = None
        await session.flush()
        await refresh_threads(session, {m.thread_id for m in back if m.thread_id})
        if back:
            publish_after_commit(
                session,
                runtime.store,
                back[0].user_id,
                "email_updated",
                {"email_ids": [str(m.id) for m in back], "changes": {"deleted": False}},
            )


# --- folders --------------------------------------------------------------------------------------


async def _server_has(conn: ImapConnection, path: str) -> bool:
    return any(f.path == path for f in await conn.list_folders())


async def _folder_create(
    runtime: Runtime, account: MailAccount, conn: ImapConnection, payload: dict[str, Any]
) -> None:
    async with runtime.db.session() as session:
        folder = await folders_repo.get_folder(session, uuid.UUID(payload["folder_id"]))
    if folder is None:
        return
    try:
        await conn.create_folder(folder.path)
    except ImapError as exc:
        if not _refused(exc):
            raise
        if await _server_has(conn, folder.path):
            return  # it exists already: that is what we wanted
        log.warning("write_back_refused", op="folder_create", reason=exc.reason)
        async with runtime.db.session() as session:
            counts = await folders_repo.folder_counts(session, [folder.id])
            if not counts.get(folder.id, (0, 0))[0]:
                await folders_repo.delete_folders(session, [folder.id])


async def _folder_rename(
    runtime: Runtime, account: MailAccount, conn: ImapConnection, payload: dict[str, Any]
) -> None:
    old_path, new_path = payload["old_path"], payload["new_path"]
    try:
        await conn.rename_folder(old_path, new_path)
    except ImapError as exc:
        if not _refused(exc):
            raise
        if await _server_has(conn, new_path) and not await _server_has(conn, old_path):
            return
        log.warning("write_back_refused", op="folder_rename", reason=exc.reason)
        async with runtime.db.session() as session:
            folder = await folders_repo.get_folder(session, uuid.UUID(payload["folder_id"]))
            if folder is None or folder.path != new_path:
                return
            delimiter = folder.delimiter or "/"
            await folders_repo.rename_subtree(
                session, folder.account_id, new_path, old_path, delimiter
            )
            folder.path = old_path
            folder.name = payload["old_name"]
            old_parent = payload.get("old_parent_id")
            folder.parent_id = uuid.UUID(old_parent) if old_parent else None


async def _folder_delete(
    runtime: Runtime, account: MailAccount, conn: ImapConnection, payload: dict[str, Any]
) -> None:
    for path in payload["paths"]:
        try:
            await conn.delete_folder(path)
        except ImapError as exc:
            if not _refused(exc):
                raise
            if not await _server_has(conn, path):
                continue  # gone already
            log.warning("write_back_refused", op="folder_delete", reason=exc.reason)
            # The server keeps the folder: the next sync brings it (and its mail) back.
            async with runtime.db.session() as session:
                fresh = await folders_repo.get_account(session, account.id)
                if fresh is not None:
                    await account_service.enqueue_sync(session, fresh)
            return


HANDLERS: dict[str, Handler] = {
    "flags": _flags,
    "keywords": _keywords,
    "answered": _answered,
    "move": _move,
    "expunge": _expunge,
    "folder_create": _folder_create,
    "folder_rename": _folder_rename,
    "folder_delete": _folder_delete,
}
