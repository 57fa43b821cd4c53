"""Queries of mail imports, and the notification an import leaves behind."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.kit.time import utcnow
from mailmind.models import Folder, MailAccount, MailImport, Notification, User


async def add_import(
    session: AsyncSession, *, import_id: uuid.UUID, user_id: uuid.UUID, filename: str
) -> MailImport:
    now = utcnow()
    row = MailImport(
        id=import_id,
        user_id=user_id,
        filename=filename,
        status="queued",
        total=0,
        imported=0,
        duplicates=0,
        failed=0,
        bytes_read=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def get_import(
    session: AsyncSession, import_id: uuid.UUID, *, for_update: bool = False
) -> MailImport | None:
    """The import, re-read from the database (``for_update`` locks its row)."""
    query = (
        select(MailImport)
        .where(MailImport.id == import_id)
        .execution_options(populate_existing=True)
    )
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_user_import(
    session: AsyncSession, user_id: uuid.UUID, import_id: uuid.UUID
) -> MailImport | None:
    query = select(MailImport).where(MailImport.id == import_id, MailImport.user_id == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def list_imports(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None = None,
) -> list[MailImport]:
    """The user's imports, newest first."""
    query = (
        select(MailImport)
        .where(MailImport.user_id == user_id)
        .order_by(MailImport.created_at.desc(), MailImport.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(
            (MailImport.created_at < before[0])
            | ((MailImport.created_at == before[0]) & (MailImport.id < before[1]))
        )
    return list((await session.execute(query)).scalars())


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> MailAccount | None:
    query = select(MailAccount).where(MailAccount.id == account_id)
    return (await session.execute(query.execution_options(populate_existing=True))).scalar()


async def get_folder(session: AsyncSession, folder_id: uuid.UUID) -> Folder | None:
    query = select(Folder).where(Folder.id == folder_id)
    return (await session.execute(query.execution_options(populate_existing=True))).scalar()


async def add_notification(
    session: AsyncSession, *, user_id: uuid.UUID, title: str, body: str
) -> Notification:
    notification = Notification(
        id=uuid.uuid4(),
        user_id=user_id,
        type="import_finished",
        title=title[:300],
        body=body,
        created_at=utcnow(),
    )
    session.add(notification)
    await session.flush()
    return notification


async def active_users(session: AsyncSession, *, limit: int) -> list[User]:
    query = (
        select(User)
        .where(User.is_active, User.deleted_at.is_(None))
        .order_by(User.created_at)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def get_active_user_by_email(session: AsyncSession, email: str) -> User | None:
    query = select(User).where(
        func.lower(User.email) == email.lower(), User.is_active, User.deleted_at.is_(None)
    )
    return (await session.execute(query)).scalar_one_or_none()
