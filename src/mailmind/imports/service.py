"""Importing mail files into the user's local account (PRODUCT_SPEC §2.3 "Import").

An upload is streamed to ``MAILMIND_DATA_DIR/imports/`` and checked by content; the
``imports.run`` job (or ``mailmind import`` in-process) then reads it message by message and
stores batches of 50 through the common ingest path, deduplicating by Message-ID (else the
SHA-256 of the source). Every batch is committed together with the import's counters and the
file position reached (``MailImport.bytes_read``), so an interrupted run resumes after the last
committed batch: no message is stored twice and none is skipped.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import structlog
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.account.service import get_or_create_local_account
from mailmind.errors import AIError, ValidationFailed, not_found
from mailmind.imports import repository as repo
from mailmind.imports.readers import (
    SNIFF_BYTES,
    MailFileError,
    MailFileKind,
    RawMessage,
    count_messages,
    detect_kind,
    iter_messages,
    sniff,
)
from mailmind.jobs.queue import defer
from mailmind.mailbox.repository import get_or_create_folder
from mailmind.message import ingest
from mailmind.models import Folder, MailAccount, MailImport, User
from mailmind.realtime.publish import publish_after_commit
from mailmind.runtime import Runtime

log = structlog.get_logger(__name__)

BATCH_SIZE = 50
FINISHED = frozenset({"completed", "failed"})
_SUFFIXES = (".mbox", ".mbx", ".eml", ".zip")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class StoredUpload:
    """An upload on disk, already recognised as a mail file."""

    id: uuid.UUID
    path: Path
    size: int
    kind: MailFileKind


@dataclass(frozen=True)
class ImportProgress:
    """A snapshot after a committed batch (for the CLI's progress line)."""

    import_id: uuid.UUID
    status: str
    total: int
    imported: int
    duplicates: int
    failed: int

    @property
    def processed(self) -> int:
        return self.imported + self.duplicates + self.failed


ProgressCallback = Callable[[ImportProgress], None]


def upload_dir(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "imports"


def upload_path(runtime: Runtime, import_id: uuid.UUID) -> Path:
    return upload_dir(runtime) / f"{import_id}.upload"


def clean_filename(name: str | None) -> str:
    """The base name a browser sent, without directories or control characters."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = _CONTROL.sub("", base).strip()
    return base[:255] or "import"


def folder_name(filename: str) -> str:
    """One folder per file, named after it: ``Archive 2019.mbox`` → ``Archive 2019``."""
    name = filename
    if name.lower().endswith(_SUFFIXES):
        name = name[: name.rfind(".")]
    return name.strip().replace("/", "-")[:255] or "Import"


# --- upload ---------------------------------------------------------------------------------------


async def store_upload(runtime: Runtime, chunks: AsyncIterable[bytes]) -> StoredUpload:
    """Write an upload to the data directory as it arrives.

    VAL006 as soon as it passes ``IMPORT_MAX_BYTES``; AI006 as soon as its first bytes show it
    is not a mail file, and after the end for a zip without .eml members. Nothing is left on
    disk when it is refused.
    """
    limit = runtime.settings.import_max_bytes
    import_id = uuid.uuid4()
    final = upload_path(runtime, import_id)
    partial = final.with_suffix(".part")
    await asyncio.to_thread(final.parent.mkdir, parents=True, exist_ok=True)
    size = 0
    head = bytearray()
    sniffed = False
    handle: IO[bytes] = await asyncio.to_thread(partial.open, "wb")
    try:
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise ValidationFailed(
                        "VAL006",
                        f"The file is larger than {limit} bytes",
                        details={"limit": limit},
                    )
                if not sniffed:
                    head += chunk[: SNIFF_BYTES - len(head)]
                    if len(head) >= SNIFF_BYTES:
                        _check_head(bytes(head))
                        sniffed = True
                await asyncio.to_thread(handle.write, chunk)
        finally:
            await asyncio.to_thread(handle.close)
        if not sniffed:
            _check_head(bytes(head))
        try:
            kind = await asyncio.to_thread(detect_kind, partial)
        except MailFileError as exc:
            raise _unsupported(str(exc)) from exc
        await asyncio.to_thread(partial.rename, final)
    except BaseException:
        await asyncio.to_thread(partial.unlink, missing_ok=True)
        raise
    return StoredUpload(id=import_id, path=final, size=size, kind=kind)


def _check_head(head: bytes) -> None:
    if sniff(head) is None:
        raise _unsupported("The file is not an mbox, .eml or zip of .eml files")


def _unsupported(message: str) -> AIError:
    return AIError("AI006", message, details={"supported": ["mbox", "eml", "zip"]})


async def create_import(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    filename: str,
    import_id: uuid.UUID | None = None,
    enqueue: bool = True,
) -> MailImport:
    """The import row, and (``enqueue``) its ``imports.run`` job in the same transaction.

    One user's imports run one after another (the job lock), so two files never ingest into the
    local account at the same time.
    """
    row = await repo.add_import(
        session,
        import_id=import_id or uuid.uuid4(),
        user_id=user_id,
        filename=clean_filename(filename),
    )
    if enqueue:
        await defer(session, "imports.run", lock=f"import:{user_id}", import_id=str(row.id))
    return row


async def get_import(session: AsyncSession, user_id: uuid.UUID, import_id: uuid.UUID) -> MailImport:
    """The user's import; RES001 for an unknown id or another user's import."""
    row = await repo.get_user_import(session, user_id, import_id)
    if row is None:
        raise not_found("import")
    return row


async def list_imports(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[MailImport]:
    return await repo.list_imports(session, user_id, limit=limit, before=before)


# --- running ------------------------------------------------------------------------------------


async def run_import(
    runtime: Runtime,
    import_id: uuid.UUID,
    *,
    source: Path | None = None,
    on_progress: ProgressCallback | None = None,
    batch_size: int = BATCH_SIZE,
) -> MailImport | None:
    """Import the file of ``import_id`` (the stored upload, or ``source`` for the CLI), resuming
    where the last run committed. The stored upload is deleted at the end; ``source`` is not.

    A file that cannot be read ends the import as ``failed``; any other error propagates (the
    job is retried and resumes).
    """
    path = source if source is not None else upload_path(runtime, import_id)
    cap = runtime.settings.import_max_message_bytes
    async with runtime.db.session() as session:
        row = await repo.get_import(session, import_id)
    if row is None or row.status in FINISHED:
        return row
    # Reading the file (a full pass to count an mbox) happens outside any transaction.
    total: int | None = None
    failure: str | None = None
    try:
        kind = await asyncio.to_thread(detect_kind, path)
        if row.status == "queued":
            total = await asyncio.to_thread(count_messages, path, kind, max_message_bytes=cap)
    except (MailFileError, OSError) as exc:
        failure = _file_error(exc)
    async with runtime.db.session() as session:
        row = await repo.get_import(session, import_id, for_update=True)
        if row is None or row.status in FINISHED:
            return row
        if failure is not None:
            await _finish(session, runtime, row, None, error=failure)
        else:
            if row.status == "queued" and total is not None:
                row.total = total
                row.status = "running"
                row.bytes_read = 0
            account = await get_or_create_local_account(session, row.user_id)
            name = folder_name(row.filename)
            folder = await get_or_create_folder(session, account, path=name, name=name)
            row.account_id = account.id
            account_id, folder_id, position = account.id, folder.id, row.bytes_read
            await session.flush()
            _publish_progress(session, runtime, row, folder.name)
    _report(on_progress, row)
    if failure is not None:
        await _drop_upload(path, source)
        return row

    messages = iter_messages(path, kind, max_message_bytes=cap, start=position)
    try:
        while True:
            try:
                batch = await asyncio.to_thread(_take, messages, batch_size)
            except (MailFileError, OSError) as exc:
                async with runtime.db.session() as session:
                    row = await repo.get_import(session, import_id, for_update=True)
                    if row is None or row.status != "running":
                        return row
                    await _finish(session, runtime, row, folder.name, error=_file_error(exc))
                await _drop_upload(path, source)
                return row
            if not batch:
                break
            async with runtime.db.session() as session:
                row = await repo.get_import(session, import_id, for_update=True)
                if row is None or row.status != "running" or row.bytes_read != position:
                    return row  # deleted, finished or advanced by another run meanwhile
                stored, duplicates, failed = await _ingest(
                    session, runtime, account_id, folder_id, batch
                )
                row.imported += stored
                row.duplicates += duplicates
                row.failed += failed
                # A file that grew since it was counted must not report over 100 %.
                row.total = max(row.total, row.imported + row.duplicates + row.failed)
                row.bytes_read = position = batch[-1].next_position
                await session.flush()
                _publish_progress(session, runtime, row, folder.name)
            _report(on_progress, row)
    finally:
        await asyncio.to_thread(messages.close)

    async with runtime.db.session() as session:
        row = await repo.get_import(session, import_id, for_update=True)
        if row is None or row.status != "running":
            return row
        await _finish(session, runtime, row, folder.name)
    await _drop_upload(path, source)
    _report(on_progress, row)
    return row


def _take(messages: Iterator[RawMessage], count: int) -> list[RawMessage]:
    batch: list[RawMessage] = []
    for message in messages:
        batch.append(message)
        if len(batch) == count:
            break
    return batch


async def _ingest(
    session: AsyncSession,
    runtime: Runtime,
    account_id: uuid.UUID,
    folder_id: uuid.UUID,
    batch: list[RawMessage],
) -> tuple[int, int, int]:
    """Store one batch: (stored, duplicates, failed). A message the database refuses (bad data,
    a constraint) is counted failed on its own instead of failing its neighbours."""
    items = [ingest.IncomingMessage(raw=m.raw) for m in batch if m.error is None]
    failed = len(batch) - len(items)
    if not items:
        return 0, 0, failed
    account, folder = await _target(session, account_id, folder_id)
    try:
        async with session.begin_nested():
            result = await ingest.ingest_batch(
                session,
                runtime,
                account=account,
                folder=folder,
                items=items,
                dedupe="message_id",
                notify=False,
            )
        return len(result.stored), result.duplicates, failed + result.failed
    except (DataError, IntegrityError) as exc:
        log.warning("import_batch_refused", error=type(exc).__name__)
    stored = duplicates = 0
    for item in items:
        account, folder = await _target(session, account_id, folder_id)
        try:
            async with session.begin_nested():
                result = await ingest.ingest_batch(
                    session,
                    runtime,
                    account=account,
                    folder=folder,
                    items=[item],
                    dedupe="message_id",
                    notify=False,
                )
        except (DataError, IntegrityError) as exc:
            log.warning("import_message_refused", error=type(exc).__name__)
            failed += 1
            continue
        stored += len(result.stored)
        duplicates += result.duplicates
        failed += result.failed
    return stored, duplicates, failed


async def _target(
    session: AsyncSession, account_id: uuid.UUID, folder_id: uuid.UUID
) -> tuple[MailAccount, Folder]:
    account = await repo.get_account(session, account_id)
    folder = await repo.get_folder(session, folder_id)
    if account is None or folder is None:
        # The account or folder was deleted while importing: nothing left to import into.
        raise MailFileError("The import's account or folder no longer exists")
    return account, folder


def _file_error(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError):
        return "The uploaded file is no longer available"
    if isinstance(exc, MailFileError):
        return str(exc)
    return f"The file could not be read ({type(exc).__name__})"


async def _drop_upload(path: Path, source: Path | None) -> None:
    if source is None:
        await asyncio.to_thread(path.unlink, missing_ok=True)


def _report(on_progress: ProgressCallback | None, row: MailImport) -> None:
    if on_progress is not None:
        on_progress(
            ImportProgress(
                import_id=row.id,
                status=row.status,
                total=row.total,
                imported=row.imported,
                duplicates=row.duplicates,
                failed=row.failed,
            )
        )


def _publish_progress(
    session: AsyncSession,
    runtime: Runtime,
    row: MailImport,
    folder: str | None,
    *,
    error: str | None = None,
) -> None:
    processed = row.imported + row.duplicates + row.failed
    if row.status == "running":
        status, state = "syncing", "syncing"
    elif row.status == "failed":
        status, state = "error", "error"
    else:
        status, state = "completed", "idle"
    data: dict[str, Any] = {
        "account_id": str(row.account_id) if row.account_id else None,
        "import_id": str(row.id),
        "status": status,
        "state": state,
        "phase": "import",
        "folder": folder,
        "progress": min(100, processed * 100 // row.total) if row.total else 100,
        "processed": processed,
        "total": row.total,
        "message": error,
    }
    if row.status == "running" and not row.total:
        data["progress"] = 0
    publish_after_commit(session, runtime.store, row.user_id, "sync_status", data)


async def _finish(
    session: AsyncSession,
    runtime: Runtime,
    row: MailImport,
    folder: str | None,
    *,
    error: str | None = None,
) -> None:
    """Mark the import completed (or failed with ``error``) and leave an ``import_finished``
    notification."""
    row.status = "failed" if error else "completed"
    row.error = error[:2000] if error else None
    counts = f"{row.imported} imported, {row.duplicates} duplicates, {row.failed} failed"
    if error:
        title = f"Import of {row.filename} failed"
        body = f"{error}. {counts}."
    else:
        title = f"Import of {row.filename} finished"
        body = f"{counts}."
    notification = await repo.add_notification(session, user_id=row.user_id, title=title, body=body)
    await session.flush()
    _publish_progress(session, runtime, row, folder, error=error)
    publish_after_commit(
        session,
        runtime.store,
        row.user_id,
        "notification",
        {
            "id": str(notification.id),
            "type": notification.type,
            "title": notification.title,
            "body": notification.body,
            "email_id": None,
            "created_at": notification.created_at.isoformat(),
        },
    )
    log.info(
        "import_finished",
        import_id=str(row.id),
        status=row.status,
        imported=row.imported,
        duplicates=row.duplicates,
        failed=row.failed,
    )


# --- command line -------------------------------------------------------------------------------


async def user_for_import(session: AsyncSession, email: str | None) -> User:
    """The user named by ``mailmind import --user``; without one, the only user there is."""
    if email is not None:
        user = await repo.get_active_user_by_email(session, email)
        if user is None:
            raise not_found("user")
        return user
    users = await repo.active_users(session, limit=2)
    if not users:
        raise not_found("user")
    if len(users) > 1:
        raise ValidationFailed(
            "VAL001", "There are several users: name one with --user", details={"field": "user"}
        )
    return users[0]


def check_file(path: Path) -> MailFileKind:
    """The kind of a local file for ``mailmind import``; AI006 when it is not a mail file."""
    try:
        return detect_kind(path)
    except MailFileError as exc:
        raise _unsupported(str(exc)) from exc
