"""Mirror an IMAP account into PostgreSQL without losing or duplicating a message.

One *pass* brings every folder up to date:

1. the folder list (roles from SPECIAL-USE or names), folders gone from the server removed;
2. per folder, in the order of PRODUCT_SPEC §2.3 (INBOX first — its newest 50 before anything
   else — then Sent, Drafts, Archive, custom folders, Spam, Trash): a UIDVALIDITY change first
   detaches every local row from its UID (rows are re-matched by Message-ID, keeping AI results
   and tags); then the missing messages of the sync window, newest first;
3. flag changes (CONDSTORE's CHANGEDSINCE where offered, else all flags) and expunges;
4. the backfill of older mail down to ``SYNC_DEPTH_DAYS``.

What is missing is always computed as *server UIDs minus stored UIDs*, and each batch of about 50
messages is committed together with the folder checkpoint, so a pass interrupted anywhere resumes
where it stopped with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import zlib
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.account.service import sync_window
from mailmind.integrations.imap import FetchedMessage, FolderStatus, ImapError, RemoteFolder
from mailmind.mailbox.repository import get_or_create_folder
from mailmind.mailbox.roles import SYNC_ORDER, role_for
from mailmind.message.ingest import IncomingMessage, flag_columns, ingest_batch, prepare_messages
from mailmind.message.parsepool import PreparedMessage
from mailmind.models import Folder, MailAccount, Message
from mailmind.thread.threading import refresh_threads

if TYPE_CHECKING:
    from mailmind.integrations.imap import ImapConnection
    from mailmind.runtime import Runtime

log = structlog.get_logger(__name__)

BATCH_SIZE = 50
FIRST_VISIBLE = 50  # the newest INBOX messages shown before anything else (§2.3)
# Stored messages after which the planner's statistics are checked first (then at 4x, 16x, ...).
ANALYZE_FIRST = 500
# Batches fetched and parsed ahead of the one being stored.
PREFETCH = 2
# Bytes of a batch at most (by the server's RFC822.SIZE), so one huge message never joins a batch
# of 49 others, and the batches fetched ahead stay bounded in memory.
BATCH_BYTES = 25 * 1024 * 1024


_Ready = tuple[list[FetchedMessage], list[PreparedMessage]]


class AccountUnavailable(Exception):
    """The account is gone, disabled or waits for new credentials: nothing to sync."""


@dataclass
class Progress:
    phase: str
    total: int = 0
    processed: int = 0
    folder: str | None = None


@dataclass
class PassResult:
    stored: int = 0
    updated: int = 0
    removed: int = 0
    folders: list[str] = field(default_factory=list)


def _since(days: int) -> date | None:
    return None if days <= 0 else (datetime.now(UTC) - timedelta(days=days)).date()


class AccountSync:
    """Sync of one account over one IMAP connection."""

    def __init__(self, runtime: Runtime, account_id: uuid.UUID) -> None:
        self.runtime = runtime
        self.account_id = account_id
        self.settings = runtime.settings
        self._user_id: uuid.UUID | None = None
        self._analyze_at = ANALYZE_FIRST

    # --- entry points ----------------------------------------------------------------------

    async def run(self, *, full: bool = False, folders: Sequence[str] | None = None) -> PassResult:
        """One pass over the account (or over ``folders`` only, e.g. INBOX after IDLE)."""
        from mailmind.integrations.imap import open_imap

        config = await self.imap_config()
        try:
            async with open_imap(config) as conn:
                return await self.run_on(conn, full=full, folders=folders)
        except ImapError as exc:
            if exc.reason == "auth":
                await self.auth_failed(str(exc))
                raise AccountUnavailable(str(exc)) from exc
            raise

    async def run_on(
        self,
        conn: ImapConnection,
        *,
        full: bool = False,
        folders: Sequence[str] | None = None,
    ) -> PassResult:
        result = PassResult()
        account = await self._account()
        initial = account.sync_state in ("pending", "error") or account.last_sync_at is None
        if initial:
            await self._set_state("syncing")
        local = await self._sync_folder_list(conn) if folders is None else []
        targets = await self.folders_to_sync(folders)
        days, depth = sync_window(self.runtime, account)
        if full:
            days = depth
        phase = "initial" if initial else "incremental"

        inbox = next((f for f in targets if f.role == "inbox"), None)
        if inbox is not None and initial:
            # The newest 50 INBOX messages first, so the user sees mail within seconds.
            await self._fetch_missing(conn, inbox, _since(days), result, phase, limit=FIRST_VISIBLE)
        for folder in targets:
            await self._sync_folder(conn, folder, _since(days), result, phase)
        backfill = depth == 0 or depth > days
        if backfill and initial:
            await self._set_state("backfilling")
        for folder in targets:
            if folder.sync_phase == "rebuild":
                # Every old row must find its message again, whatever the sync window.
                await self._fetch_missing(conn, folder, None, result, "backfill")
            elif backfill:
                await self._fetch_missing(conn, folder, _since(depth), result, "backfill")
            await self._drop_orphans(folder)
        await self._finish(result, phase, local)
        return result

    # --- folders ---------------------------------------------------------------------------

    async def _sync_folder_list(self, conn: ImapConnection) -> list[str]:
        remote = [f for f in await conn.list_folders() if f.selectable]
        async with self.runtime.db.session() as session:
            account = await self._account(session)
            by_path: dict[str, Folder] = {}
            for rf in remote:
                folder = await get_or_create_folder(
                    session,
                    account,
                    path=rf.path,
                    name=rf.name,
                    role=role_for(rf.path, rf.flags, rf.delimiter),
                    delimiter=rf.delimiter,
                )
                folder.special_use = rf.special_use  # `excluded` is the user's (accounts API)
                by_path[rf.path] = folder
            for rf in remote:
                by_path[rf.path].parent_id = _parent(rf, by_path)
            gone = (
                await session.scalars(
                    select(Folder).where(
                        Folder.account_id == account.id, Folder.path.not_in(list(by_path))
                    )
                )
            ).all()
            for folder in gone:
                await self._remove_folder(session, folder)
            await session.commit()
            return [f.path for f in by_path.values()]

    async def _remove_folder(self, session: AsyncSession, folder: Folder) -> None:
        threads = set(
            await session.scalars(
                select(Message.thread_id).where(
                    Message.folder_id == folder.id, Message.thread_id.is_not(None)
                )
            )
        )
        await session.execute(
            update(Message)
            .where(Message.folder_id == folder.id, Message.deleted_at.is_(None))
            .values(deleted_at=func.now(), folder_id=None)
        )
        await session.delete(folder)
        await refresh_threads(session, {t for t in threads if t is not None})

    async def folders_to_sync(self, only: Sequence[str] | None) -> list[Folder]:
        async with self.runtime.db.session() as session:
            query = select(Folder).where(
                Folder.account_id == self.account_id, Folder.excluded.is_(False)
            )
            if only is not None:
                query = query.where(Folder.path.in_(list(only)))
            folders = list((await session.scalars(query)).all())
        return sorted(folders, key=lambda f: (SYNC_ORDER.get(f.role, 4), f.path.lower()))

    # --- one folder ------------------------------------------------------------------------

    async def _sync_folder(
        self,
        conn: ImapConnection,
        folder: Folder,
        since: date | None,
        result: PassResult,
        phase: str,
    ) -> None:
        status = await conn.select(folder.path, readonly=True)
        if folder.uidvalidity is not None and folder.uidvalidity != status.uidvalidity:
            await self._uidvalidity_changed(folder, status)
        elif folder.uidvalidity is None:
            await self._save_checkpoint(folder, uidvalidity=status.uidvalidity)
        await self._fetch_missing(conn, folder, since, result, phase, status=status)
        await self._sync_flags(conn, folder, status, result)
        result.folders.append(folder.path)

    async def _uidvalidity_changed(self, folder: Folder, status: FolderStatus) -> None:
        """RFC 3501 §2.3.1.1: every UID is void. Rows keep their id, AI results and tags and get
        their new UID back when the same Message-ID turns up again in this folder."""
        log.info("uidvalidity_changed", folder=folder.path, old=folder.uidvalidity)
        async with self.runtime.db.session() as session:
            await session.execute(
                update(Message)
                .where(Message.folder_id == folder.id)
                .values(uid=None, uidvalidity=None, modseq=None)
            )
            await session.execute(
                update(Folder)
                .where(Folder.id == folder.id)
                .values(
                    uidvalidity=status.uidvalidity,
                    highestmodseq=None,
                    uidnext=None,
                    last_seen_uid=None,
                    oldest_synced_uid=None,
                    sync_phase="rebuild",
                )
            )
            await session.commit()
        folder.uidvalidity = status.uidvalidity
        folder.highestmodseq = None
        folder.uidnext = None
        folder.last_seen_uid = None
        folder.sync_phase = "rebuild"

    async def _fetch_missing(
        self,
        conn: ImapConnection,
        folder: Folder,
        since: date | None,
        result: PassResult,
        phase: str,
        *,
        status: FolderStatus | None = None,
        limit: int | None = None,
    ) -> None:
        if status is None:
            status = await conn.select(folder.path, readonly=True)
            if folder.uidvalidity is not None and folder.uidvalidity != status.uidvalidity:
                await self._uidvalidity_changed(folder, status)
            elif folder.uidvalidity is None:
                await self._save_checkpoint(folder, uidvalidity=status.uidvalidity)
        if status.exists == 0:
            return
        server = set(await conn.search_uids(since=since))
        if folder.uidnext is not None and since is not None:
            # Mail that arrived since the last pass (UIDs from the UIDNEXT seen then) is wanted
            # whatever its date, e.g. an old message moved in from another folder.
            first_new = folder.uidnext
            server |= {u for u in await conn.search_uids() if u >= first_new}
        known = await self._stored_uids(folder)
        missing = sorted((u for u in server if u not in known), reverse=True)
        if limit is not None:
            missing = missing[:limit]
        if not missing:
            return
        progress = Progress(phase=phase, total=len(missing), folder=folder.path)
        # Batches of BATCH_SIZE messages and at most BATCH_BYTES (one larger message alone):
        # with the batches fetched ahead, a mailbox of large mail never holds more than a few
        # batches' bytes in memory.
        sizes = await conn.fetch_sizes(missing)
        chunks = list(_batches(missing, sizes, BATCH_SIZE, BATCH_BYTES))
        # A pipeline: while one batch is stored, the next ones are fetched (the IMAP thread)
        # and parsed (the parse pool), so the three run side by side on the machine's cores.
        ahead: deque[asyncio.Future[_Ready]] = deque()
        try:
            for index, chunk in enumerate(chunks):
                while len(ahead) <= PREFETCH and index + len(ahead) < len(chunks):
                    following = chunks[index + len(ahead)]
                    ahead.append(asyncio.ensure_future(self._fetch_and_prepare(conn, following)))
                fetched, prepared = await ahead.popleft()
                await self._store(
                    folder,
                    fetched,
                    status,
                    result,
                    notify=phase == "incremental",
                    backfill=phase == "backfill",
                    prepared=prepared,
                )
                progress.processed += len(chunk)
                await self._refresh_statistics(result.stored)
                await self._publish_progress(progress)
        finally:
            for pending in ahead:
                if not pending.done():
                    pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending

    async def _refresh_statistics(self, stored: int) -> None:
        """ANALYZE the message tables when this pass has stored more rows than the planner
        believes they hold. A new installation's first sync fills empty tables faster than
        autovacuum looks at them; on statistics of an empty table every per-batch lookup (known
        UIDs, thread references, thread counters) reads all of the account's messages instead
        of its index, so each batch costs more than the one before. Checked at 500 stored
        messages, then each time the count has grown fourfold."""
        if stored < self._analyze_at:
            return
        self._analyze_at = stored * 4
        async with self.runtime.db.session() as session:
            believed = await session.scalar(
                text("SELECT reltuples FROM pg_class WHERE oid = 'messages'::regclass")
            )
            if believed is not None and believed >= stored:
                return
            # A VACUUM holding the table would make ANALYZE wait: better skip it this time.
            await session.execute(text("SET LOCAL lock_timeout = '2s'"))
            try:
                # Outside the owner's role PostgreSQL skips a table with a warning, no error.
                await session.execute(text("ANALYZE messages, threads"))
            except DBAPIError as exc:
                await session.rollback()
                log.warning("sync_analyze_skipped", error=str(exc.orig))
                return
            await session.commit()
        log.info("sync_analyzed", stored=stored, believed=believed)

    async def _fetch_and_prepare(self, conn: ImapConnection, uids: list[int]) -> _Ready:
        fetched = await conn.fetch(uids)
        return fetched, await prepare_messages(self.runtime, [m.raw for m in fetched])

    async def _store(
        self,
        folder: Folder,
        fetched: Sequence[FetchedMessage],
        status: FolderStatus,
        result: PassResult,
        *,
        notify: bool,
        backfill: bool = False,
        prepared: Sequence[PreparedMessage] | None = None,
    ) -> None:
        if not fetched:
            return
        async with self.runtime.db.session() as session:
            account = await self._account(session)
            items = [
                IncomingMessage(
                    raw=m.raw,
                    uid=m.uid,
                    uidvalidity=status.uidvalidity,
                    flags=m.flags,
                    internal_date=m.internal_date,
                    modseq=m.modseq,
                )
                for m in fetched
            ]
            outcome = await ingest_batch(
                session,
                self.runtime,
                account=account,
                folder=folder,
                items=items,
                notify=notify,
                backfill=backfill,
                prepared=prepared,
            )
            top = max(m.uid for m in fetched)
            await session.execute(
                update(Folder)
                .where(Folder.id == folder.id)
                .values(
                    last_seen_uid=func.greatest(func.coalesce(Folder.last_seen_uid, 0), top),
                    oldest_synced_uid=func.least(
                        func.coalesce(Folder.oldest_synced_uid, top), min(m.uid for m in fetched)
                    ),
                    uidnext=status.uidnext,
                )
            )
            await session.commit()
        folder.last_seen_uid = max(folder.last_seen_uid or 0, top)
        folder.uidnext = status.uidnext
        result.stored += len(outcome.stored)
        result.updated += len(outcome.adopted)

    async def _sync_flags(
        self,
        conn: ImapConnection,
        folder: Folder,
        status: FolderStatus,
        result: PassResult,
    ) -> None:
        """Server wins (§2.3): its flags replace ours, and what it expunged goes."""
        incremental = conn.condstore and folder.highestmodseq and status.highestmodseq
        if incremental and status.highestmodseq == folder.highestmodseq:
            changes = []
        elif incremental:
            changes = await conn.fetch_flags(changed_since=folder.highestmodseq)
        else:
            changes = await conn.fetch_flags()
        server_uids = set(await conn.search_uids())
        async with self.runtime.db.session() as session:
            local = dict(
                (
                    await session.execute(
                        select(Message.uid, Message.id).where(
                            Message.folder_id == folder.id,
                            Message.uidvalidity == status.uidvalidity,
                            Message.uid.is_not(None),
                            Message.deleted_at.is_(None),
                        )
                    )
                ).all()
            )
            changed_ids: list[uuid.UUID] = []
            current = await self._flag_state(session, list(local.values()))
            for state in changes:
                message_id = local.get(state.uid)
                if message_id is None:
                    continue
                values = flag_columns(state.flags)
                if current.get(message_id) != _flag_key(values):
                    await session.execute(
                        update(Message)
                        .where(Message.id == message_id)
                        .values(modseq=state.modseq, **values)
                    )
                    changed_ids.append(message_id)
            gone = [mid for uid, mid in local.items() if uid not in server_uids]
            threads: set[uuid.UUID] = set()
            if gone:
                threads |= set(
                    t
                    for t in await session.scalars(
                        select(Message.thread_id).where(Message.id.in_(gone))
                    )
                    if t is not None
                )
                await session.execute(
                    update(Message).where(Message.id.in_(gone)).values(deleted_at=func.now())
                )
            if changed_ids:
                threads |= set(
                    t
                    for t in await session.scalars(
                        select(Message.thread_id).where(Message.id.in_(changed_ids))
                    )
                    if t is not None
                )
            await refresh_threads(session, threads)
            await _recount(session, folder.id)
            await session.execute(
                update(Folder)
                .where(Folder.id == folder.id)
                .values(
                    highestmodseq=status.highestmodseq,
                    uidnext=status.uidnext,
                    last_synced_at=func.now(),
                )
            )
            account = await self._account(session)
            if changed_ids:
                await self._email_updated(session, account, changed_ids)
            if gone:
                await self._email_updated(session, account, gone, deleted=True)
            await session.commit()
        folder.highestmodseq = status.highestmodseq
        folder.uidnext = status.uidnext
        result.updated += len(changed_ids)
        result.removed += len(gone)

    async def _drop_orphans(self, folder: Folder) -> None:
        """After a UIDVALIDITY change, rows still without a UID once the whole folder has been
        seen again are gone from the server. (Elsewhere a row without a UID is a local move
        waiting for its write-back, and is left alone.)"""
        if folder.sync_phase != "rebuild":
            return
        async with self.runtime.db.session() as session:
            threads = set(
                await session.scalars(
                    select(Message.thread_id).where(
                        Message.folder_id == folder.id,
                        Message.uid.is_(None),
                        Message.deleted_at.is_(None),
                        Message.send_status.is_(None),
                    )
                )
            )
            if not threads:
                await self._save_checkpoint(folder, sync_phase="complete")
                return
            await session.execute(
                update(Message)
                .where(
                    Message.folder_id == folder.id,
                    Message.uid.is_(None),
                    Message.deleted_at.is_(None),
                    Message.send_status.is_(None),
                )
                .values(deleted_at=func.now())
            )
            await refresh_threads(session, {t for t in threads if t is not None})
            await _recount(session, folder.id)
            await session.execute(
                update(Folder).where(Folder.id == folder.id).values(sync_phase="complete")
            )
            await session.commit()
        folder.sync_phase = "complete"

    # --- state, events ---------------------------------------------------------------------

    async def _finish(self, result: PassResult, phase: str, folders: list[str]) -> None:
        async with self.runtime.db.session() as session:
            await session.execute(
                update(MailAccount)
                .where(MailAccount.id == self.account_id)
                .values(sync_state="idle", sync_error=None, last_sync_at=func.now())
            )
            await session.commit()
        await self._publish(
            {
                "status": "completed",
                "state": "idle",
                "phase": phase,
                "folder": None,
                "progress": 100,
                "processed": result.stored,
                "total": result.stored,
                "message": None,
            }
        )

    async def _set_state(self, state: str) -> None:
        async with self.runtime.db.session() as session:
            await session.execute(
                update(MailAccount)
                .where(MailAccount.id == self.account_id)
                .values(sync_state=state)
            )
            await session.commit()

    async def auth_failed(self, error: str) -> None:
        from mailmind.account.service import mark_auth_required

        async with self.runtime.db.session() as session:
            account = await self._account(session)
            await mark_auth_required(session, self.runtime, account, error)
            await session.commit()

    async def _publish_progress(self, progress: Progress) -> None:
        percent = int(progress.processed * 100 / progress.total) if progress.total else 100
        await self._publish(
            {
                "status": "syncing",
                "state": "backfilling" if progress.phase == "backfill" else "syncing",
                "phase": progress.phase,
                "folder": progress.folder,
                "progress": percent,
                "processed": progress.processed,
                "total": progress.total,
                "message": None,
            }
        )

    async def _publish(self, data: dict[str, Any]) -> None:
        from mailmind.realtime.publish import publish

        if self._user_id is None:
            # An account never changes hands: read once per pass, not once per batch.
            self._user_id = (await self._account()).user_id
        with contextlib.suppress(Exception):  # events may be lost (§ Data and state)
            await publish(
                self.runtime.store,
                self._user_id,
                "sync_status",
                {"account_id": str(self.account_id), **data},
            )

    async def _email_updated(
        self,
        session: AsyncSession,
        account: MailAccount,
        ids: list[uuid.UUID],
        *,
        deleted: bool = False,
    ) -> None:
        from mailmind.realtime.publish import publish_after_commit

        if deleted:
            changes: dict[str, Any] = {"deleted": True}
        else:
            rows = await session.execute(
                select(Message.id, Message.is_read, Message.is_starred).where(Message.id.in_(ids))
            )
            by_state: dict[tuple[bool, bool], list[str]] = {}
            for mid, read, starred in rows:
                by_state.setdefault((read, starred), []).append(str(mid))
            for (read, starred), group in by_state.items():
                publish_after_commit(
                    session,
                    self.runtime.store,
                    account.user_id,
                    "email_updated",
                    {"email_ids": group, "changes": {"is_read": read, "is_starred": starred}},
                )
            return
        publish_after_commit(
            session,
            self.runtime.store,
            account.user_id,
            "email_updated",
            {"email_ids": [str(i) for i in ids], "changes": changes},
        )

    # --- helpers ---------------------------------------------------------------------------

    async def _account(self, session: AsyncSession | None = None) -> MailAccount:
        if session is None:
            async with self.runtime.db.session() as own:
                return await self._account(own)
        account = await session.get(MailAccount, self.account_id)
        if account is None or account.sync_state in ("disabled", "auth_required"):
            raise AccountUnavailable(str(self.account_id))
        return account

    async def imap_config(self) -> Any:
        from mailmind.account.service import connection_configs

        async with self.runtime.db.session() as session:
            account = await self._account(session)
            imap, _ = await connection_configs(session, self.runtime, account)
            await session.commit()  # a refreshed OAuth token is stored
            return imap

    async def _stored_uids(self, folder: Folder) -> set[int]:
        async with self.runtime.db.session() as session:
            rows = await session.scalars(
                select(Message.uid).where(
                    Message.folder_id == folder.id,
                    Message.uidvalidity == folder.uidvalidity,
                    Message.uid.is_not(None),
                )
            )
            return {u for u in rows if u is not None}

    async def _flag_state(
        self, session: AsyncSession, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[Any, ...]]:
        if not ids:
            return {}
        rows = await session.execute(
            select(
                Message.id,
                Message.is_read,
                Message.is_starred,
                Message.is_answered,
                Message.is_draft,
                Message.keywords,
            ).where(Message.id.in_(ids))
        )
        return {
            row[0]: _flag_key(
                {
                    "is_read": row[1],
                    "is_starred": row[2],
                    "is_answered": row[3],
                    "is_draft": row[4],
                    "keywords": row[5],
                }
            )
            for row in rows
        }

    async def _save_checkpoint(self, folder: Folder, **values: Any) -> None:
        async with self.runtime.db.session() as session:
            await session.execute(update(Folder).where(Folder.id == folder.id).values(**values))
            await session.commit()
        for key, value in values.items():
            setattr(folder, key, value)


def _flag_key(values: dict[str, Any]) -> tuple[Any, ...]:
    return (
        values["is_read"],
        values["is_starred"],
        values["is_answered"],
        values["is_draft"],
        tuple(sorted(values["keywords"])),
    )


def _parent(rf: RemoteFolder, by_path: dict[str, Folder]) -> uuid.UUID | None:
    if not rf.delimiter or rf.delimiter not in rf.path:
        return None
    parent = by_path.get(rf.path.rsplit(rf.delimiter, 1)[0])
    return parent.id if parent else None


def _batches(
    uids: Sequence[int], sizes: dict[int, int], count: int, limit: int
) -> Iterable[list[int]]:
    """``uids`` in order, in batches of at most ``count`` messages and ``limit`` bytes (a
    message of ``limit`` or more alone). A UID without a size (gone meanwhile) counts as 0."""
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (len(batch) >= count or total + size > limit):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


async def _recount(session: AsyncSession, folder_id: uuid.UUID) -> None:
    await session.execute(
        text(
            "UPDATE folders SET "
            "total_count = (SELECT count(*) FROM messages m WHERE m.folder_id = :f "
            "AND m.deleted_at IS NULL), "
            "unread_count = (SELECT count(*) FROM messages m WHERE m.folder_id = :f "
            "AND m.deleted_at IS NULL AND NOT m.is_read) WHERE id = :f"
        ),
        {"f": folder_id},
    )


@contextlib.asynccontextmanager
async def account_lock(
    runtime: Runtime, account_id: uuid.UUID, *, wait: bool
) -> AsyncIterator[bool]:
    """A PostgreSQL advisory lock held for one pass, so two passes over the same account never
    interleave (the watcher's and a manual sync job's). Yields whether it was acquired."""
    key = zlib.crc32(f"mailbox.sync:{account_id}".encode())
    async with runtime.db.engine.connect() as conn:
        if wait:
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            acquired = True
        else:
            acquired = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        await conn.commit()
        try:
            yield acquired
        finally:
            if acquired:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
