"""Queries on mail accounts (and the folder flags and queue rows account settings touch)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.models import Folder, MailAccount


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> MailAccount | None:
    return await session.get(MailAccount, account_id)


async def get_user_account(
    session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID
) -> MailAccount | None:
    """The account when it belongs to ``user_id``."""
    return await session.scalar(
        select(MailAccount).where(MailAccount.id == account_id, MailAccount.user_id == user_id)
    )


async def find_account(
    session: AsyncSession, user_id: uuid.UUID, *, email: str, kind: str
) -> MailAccount | None:
    return await session.scalar(
        select(MailAccount).where(
            MailAccount.user_id == user_id, MailAccount.email == email, MailAccount.kind == kind
        )
    )


async def list_accounts(session: AsyncSession, user_id: uuid.UUID) -> list[MailAccount]:
    result = await session.scalars(
        select(MailAccount)
        .where(MailAccount.user_id == user_id)
        .order_by(MailAccount.created_at, MailAccount.id)
    )
    return list(result)


async def ensure_local_account(
    session: AsyncSession, user_id: uuid.UUID, email: str
) -> MailAccount:
    """The user's ``local`` account, created when missing (safe against a concurrent insert)."""
    await session.execute(
        insert(MailAccount)
        .values(
            id=uuid.uuid4(),
            user_id=user_id,
            kind="local",
            email=email,
            display_name="",
            sync_state="idle",
        )
        .on_conflict_do_nothing(constraint="uq_mail_accounts_user_email_kind")
    )
    account = await session.scalar(
        select(MailAccount).where(MailAccount.user_id == user_id, MailAccount.kind == "local")
    )
    assert account is not None
    return account


async def excluded_folder_ids(
    session: AsyncSession, account_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    found: dict[uuid.UUID, list[uuid.UUID]] = {account_id: [] for account_id in account_ids}
    if not account_ids:
        return found
    rows = await session.execute(
        select(Folder.account_id, Folder.id)
        .where(Folder.account_id.in_(account_ids), Folder.excluded.is_(True))
        .order_by(Folder.path)
    )
    for account_id, folder_id in rows:
        found[account_id].append(folder_id)
    return found


async def folder_ids_of_account(
    session: AsyncSession, account_id: uuid.UUID, folder_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of ``folder_ids`` that are folders of the account."""
    if not folder_ids:
        return set()
    result = await session.scalars(
        select(Folder.id).where(Folder.account_id == account_id, Folder.id.in_(folder_ids))
    )
    return set(result)


async def set_excluded_folders(
    session: AsyncSession, account_id: uuid.UUID, folder_ids: Sequence[uuid.UUID]
) -> None:
    """Exclude exactly ``folder_ids`` from the account's sync."""
    await session.execute(
        update(Folder)
        .where(Folder.account_id == account_id)
        .values(excluded=Folder.id.in_(folder_ids) if folder_ids else False)
        .execution_options(synchronize_session=False)
    )


async def waiting_job_id(session: AsyncSession, queueing_lock: str) -> int | None:
    """The job still waiting under ``queueing_lock`` (procrastinate keeps at most one)."""
    value = await session.scalar(
        text(
            "SELECT id FROM procrastinate_jobs WHERE queueing_lock = :lock AND status = 'todo' "
            "ORDER BY id LIMIT 1"
        ),
        {"lock": queueing_lock},
    )
    return int(value) if value is not None else None


async def widen_waiting_sync(session: AsyncSession, job_id: int) -> None:
    """Turn a waiting sync into a full one (a user asked for it while one was queued)."""
    await session.execute(
        text(
            "UPDATE procrastinate_jobs SET args = args || '{\"full\": true}'::jsonb "
            "WHERE id = :id AND status = 'todo'"
        ),
        {"id": job_id},
    )


async def purge_account(session: AsyncSession, account_id: uuid.UUID) -> bool:
    """Delete a disabled account; folders, messages, threads and the rest go with it (FK
    cascades). Return whether it existed."""
    result = await session.execute(
        delete(MailAccount)
        .where(MailAccount.id == account_id, MailAccount.sync_state == "disabled")
        .returning(MailAccount.id)
    )
    return result.first() is not None
