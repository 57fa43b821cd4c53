"""Folders: list with counts, create, rename or move, delete; every change is mirrored to the
mail server by the ``message.write_back`` job. Folders with a role (Inbox, Sent, …) are fixed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.errors import MailError, ResourceError, ValidationFailed, not_found
from mailmind.mailbox import repository as repo
from mailmind.message.service import queue_write_back
from mailmind.models import Folder, MailAccount
from mailmind.realtime.publish import publish_after_commit
from mailmind.runtime import Runtime
from mailmind.thread.threading import refresh_threads

DEFAULT_DELIMITER = "/"


@dataclass(frozen=True)
class FolderWithCounts:
    folder: Folder
    total_count: int
    unread_count: int


async def _owned_account(
    session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID
) -> MailAccount:
    account = await repo.get_account(session, account_id)
    if account is None or account.user_id != user_id:
        raise not_found("account")
    return account


async def get_owned(session: AsyncSession, user_id: uuid.UUID, folder_id: uuid.UUID) -> Folder:
    """The caller's folder, else RES001 (another user's looks exactly like a missing one)."""
    folder = await repo.get_folder(session, folder_id)
    if folder is None or folder.user_id != user_id:
        raise not_found("folder")
    return folder


async def with_counts(session: AsyncSession, folders: list[Folder]) -> list[FolderWithCounts]:
    counts = await repo.folder_counts(session, [f.id for f in folders])
    return [FolderWithCounts(f, *counts.get(f.id, (0, 0))) for f in folders]


async def list_folders(
    session: AsyncSession, user_id: uuid.UUID, *, account_id: uuid.UUID | None
) -> list[FolderWithCounts]:
    if account_id is not None:
        await _owned_account(session, user_id, account_id)
    return await with_counts(
        session, await repo.list_folders(session, user_id, account_id=account_id)
    )


def _check_name(name: str, delimiter: str) -> str:
    name = name.strip()
    if not name or delimiter in name or any(ord(c) < 32 for c in name):
        raise ValidationFailed(
            "VAL002",
            f"A folder name is not empty and has no {delimiter!r}",
            details={"field": "name"},
        )
    return name


async def _parent(
    session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID, parent_id: uuid.UUID
) -> Folder:
    parent = await repo.get_folder(session, parent_id)
    if parent is None or parent.user_id != user_id or parent.account_id != account_id:
        raise MailError("EMAIL007", "Unknown parent folder", details={"field": "parent_id"})
    return parent


async def _delimiter(session: AsyncSession, account_id: uuid.UUID, parent: Folder | None) -> str:
    if parent is not None and parent.delimiter:
        return parent.delimiter
    return await repo.account_delimiter(session, account_id) or DEFAULT_DELIMITER


async def _check_free(session: AsyncSession, account_id: uuid.UUID, path: str) -> None:
    if await repo.find_folder_by_path(session, account_id, path) is not None:
        raise ValidationFailed(
            "VAL008", "A folder with this name exists", details={"field": "name"}
        )


async def create_folder(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    account_id: uuid.UUID,
    name: str,
    parent_id: uuid.UUID | None,
) -> FolderWithCounts:
    account = await _owned_account(session, user_id, account_id)
    parent = await _parent(session, user_id, account.id, parent_id) if parent_id else None
    delimiter = await _delimiter(session, account.id, parent)
    name = _check_name(name, delimiter)
    path = f"{parent.path}{delimiter}{name}" if parent else name
    await _check_free(session, account.id, path)
    folder = await repo.create_folder(
        session,
        account,
        path=path,
        name=name,
        parent_id=parent.id if parent else None,
        delimiter=delimiter,
    )
    await queue_write_back(session, account, "folder_create", folder_id=str(folder.id))
    return FolderWithCounts(folder, 0, 0)


def _check_custom(folder: Folder) -> None:
    if folder.role != "custom":
        raise ResourceError("RES005", "Folders with a role cannot be changed")


async def update_folder(
    session: AsyncSession,
    folder: Folder,
    *,
    name: str | None,
    parent_id: uuid.UUID | None,
    parent_set: bool,
) -> FolderWithCounts:
    """Rename and/or move under another parent (``parent_id: null`` = top level)."""
    _check_custom(folder)
    account = await repo.get_account(session, folder.account_id)
    assert account is not None
    parent: Folder | None
    if parent_set:
        parent = (
            await _parent(session, folder.user_id, folder.account_id, parent_id)
            if parent_id
            else None
        )
        if parent is not None and parent.id in {f.id for f in await repo.subtree(session, folder)}:
            raise MailError(
                "EMAIL007", "A folder cannot move below itself", details={"field": "parent_id"}
            )
    else:
        parent = await repo.get_folder(session, folder.parent_id) if folder.parent_id else None
    delimiter = folder.delimiter or await _delimiter(session, folder.account_id, parent)
    new_name = _check_name(name, delimiter) if name is not None else folder.name
    new_path = f"{parent.path}{delimiter}{new_name}" if parent else new_name
    old = {"old_path": folder.path, "old_name": folder.name, "old_parent_id": folder.parent_id}
    if new_path != folder.path:
        if new_path.lower() != folder.path.lower():
            await _check_free(session, folder.account_id, new_path)
        await repo.rename_subtree(session, folder.account_id, folder.path, new_path, delimiter)
        folder.path = new_path
        await queue_write_back(
            session,
            account,
            "folder_rename",
            folder_id=str(folder.id),
            new_path=new_path,
            **{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in old.items()},
        )
    folder.name = new_name
    folder.parent_id = parent.id if parent else None
    await session.flush()
    counts = await repo.folder_counts(session, [folder.id])
    return FolderWithCounts(folder, *counts.get(folder.id, (0, 0)))


async def delete_folder(session: AsyncSession, runtime: Runtime, folder: Folder) -> None:
    """Delete the folder, its sub-folders and their mail (locally and on the server)."""
    _check_custom(folder)
    account = await repo.get_account(session, folder.account_id)
    assert account is not None
    tree = await repo.subtree(session, folder)
    ids = [f.id for f in tree]
    removed = await repo.soft_delete_folder_mail(session, ids)
    await refresh_threads(session, {tid for _, tid in removed if tid is not None})
    # Deepest first: servers refuse to delete a mailbox that still has children.
    paths = [f.path for f in sorted(tree, key=lambda f: len(f.path), reverse=True)]
    await repo.delete_folders(session, ids)
    await queue_write_back(session, account, "folder_delete", paths=paths)
    if removed:
        publish_after_commit(
            session,
            runtime.store,
            folder.user_id,
            "email_updated",
            {"email_ids": [str(mid) for mid, _ in removed], "changes": {"deleted": True}},
        )
