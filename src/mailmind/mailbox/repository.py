"""Queries on folders."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.models import Folder, MailAccount


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
