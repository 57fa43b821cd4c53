"""Queries on folders."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.models import Folder, MailAccount, Message


async def get_or_create_folder(
    session: AsyncSession,
    account: MailAccount,
    *,
    path: str,
    name: str,
    role: str = "custom",
    delimiter: str | None = "/",
) -> Folder:
    """The account's folder at ``path``, created when missing (safe against a concurrent insert)."""
    await session.execute(
        insert(Folder)
        .values(
            account_id=account.id,
            user_id=account.user_id,
            path=path,
            name=name,
            role=role,
            delimiter=delimiter,
        )
        .on_conflict_do_nothing(constraint="uq_folders_account_path")
    )
    folder = await session.scalar(
        select(Folder).where(Folder.account_id == account.id, Folder.path == path)
    )
    assert folder is not None
    return folder


async def get_folder(session: AsyncSession, folder_id: uuid.UUID) -> Folder | None:
    return await session.get(Folder, folder_id)


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> MailAccount | None:
    return await session.get(MailAccount, account_id)


async def list_folders(
    session: AsyncSession, user_id: uuid.UUID, *, account_id: uuid.UUID | None = None
) -> list[Folder]:
    query = select(Folder).where(Folder.user_id == user_id)
    if account_id is not None:
        query = query.where(Folder.account_id == account_id)
    return list((await session.scalars(query.order_by(Folder.account_id, Folder.path))).all())


async def folder_counts(
    session: AsyncSession, folder_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """``folder id -> (total, unread)`` over live mail; snoozed mail is counted where it lives
    but not as unread, since the folder does not show it until it wakes. Each count reads only
    its partial index (``ix_messages_folder_live``, ``ix_messages_folder_unread``), not the
    folder's rows: the sidebar asks on every new mail."""
    if not folder_ids:
        return {}
    ids = list(folder_ids)
    live = Message.deleted_at.is_(None)
    unread = and_(Message.is_read.is_(False), live, Message.snoozed_until.is_(None))
    counts: dict[uuid.UUID, list[int]] = {}
    for column, condition in ((0, live), (1, unread)):
        rows = await session.execute(
            select(Message.folder_id, func.count())
            .where(Message.folder_id.in_(ids), condition)
            .group_by(Message.folder_id)
        )
        for folder_id, count in rows:
            if folder_id is not None:
                counts.setdefault(folder_id, [0, 0])[column] = int(count)
    return {fid: (total, unread_count) for fid, (total, unread_count) in counts.items()}


async def find_role_folder(
    session: AsyncSession, account_id: uuid.UUID, role: str
) -> Folder | None:
    """The account's folder with ``role`` (the shortest path first, should a server have two)."""
    return await session.scalar(
        select(Folder)
        .where(Folder.account_id == account_id, Folder.role == role)
        .order_by(func.length(Folder.path), Folder.path)
        .limit(1)
    )


async def find_folder_by_path(
    session: AsyncSession, account_id: uuid.UUID, path: str
) -> Folder | None:
    """The account's folder at ``path``; compared case-insensitively, as most servers do."""
    return await session.scalar(
        select(Folder)
        .where(Folder.account_id == account_id, func.lower(Folder.path) == path.lower())
        .limit(1)
    )


async def account_delimiter(session: AsyncSession, account_id: uuid.UUID) -> str | None:
    """The hierarchy delimiter the account's server uses (from any synced folder)."""
    return await session.scalar(
        select(Folder.delimiter)
        .where(Folder.account_id == account_id, Folder.delimiter.is_not(None))
        .limit(1)
    )


async def subtree(session: AsyncSession, folder: Folder) -> list[Folder]:
    """``folder`` and every folder below it (through ``parent_id``), parents first."""
    base = select(Folder.id).where(Folder.id == folder.id).cte("tree", recursive=True)
    tree = base.union_all(select(Folder.id).where(Folder.parent_id == base.c.id))
    rows = await session.scalars(
        select(Folder).where(Folder.id.in_(select(tree.c.id))).order_by(func.length(Folder.path))
    )
    return list(rows.all())


async def create_folder(
    session: AsyncSession,
    account: MailAccount,
    *,
    path: str,
    name: str,
    parent_id: uuid.UUID | None,
    delimiter: str | None,
    role: str = "custom",
) -> Folder:
    folder = Folder(
        account_id=account.id,
        user_id=account.user_id,
        parent_id=parent_id,
        path=path,
        name=name,
        delimiter=delimiter,
        role=role,
    )
    session.add(folder)
    await session.flush()
    return folder


async def soft_delete_folder_mail(
    session: AsyncSession, folder_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID | None]]:
    """Mark the live mail of these folders deleted; returns ``(message id, thread id)``."""
    rows = await session.execute(
        update(Message)
        .where(Message.folder_id.in_(list(folder_ids)), Message.deleted_at.is_(None))
        .values(deleted_at=func.now(), folder_id=None)
        .returning(Message.id, Message.thread_id)
        .execution_options(synchronize_session=False)
    )
    return [(mid, tid) for mid, tid in rows]


async def rename_subtree(
    session: AsyncSession, account_id: uuid.UUID, old_path: str, new_path: str, delimiter: str
) -> None:
    """Replace the ``old_path`` prefix of every folder below ``old_path`` (the server renames
    inferior mailboxes with their parent, RFC 3501 §6.3.5)."""
    prefix = old_path + delimiter
    await session.execute(
        update(Folder)
        .where(Folder.account_id == account_id, Folder.path.startswith(prefix, autoescape=True))
        .values(path=new_path + delimiter + func.substr(Folder.path, len(prefix) + 1))
        .execution_options(synchronize_session="fetch")
    )


async def delete_folders(session: AsyncSession, folder_ids: Sequence[uuid.UUID]) -> None:
    await session.execute(delete(Folder).where(Folder.id.in_(list(folder_ids))))
