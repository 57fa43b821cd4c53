"""Queries of users, sessions, refresh tokens, one-time tokens and security events."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.auth.principal import AuthUser
from mailmind.db import Database
from mailmind.kit.time import utcnow
from mailmind.models import (
    AuthSession,
    OAuthIdentity,
    RefreshToken,
    SecurityEvent,
    User,
    UserToken,
)


async def lock_registration(session: AsyncSession) -> None:
    """Serialise sign-ups in this transaction, so exactly one first user becomes admin."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('mailmind.register'))"))


async def count_users(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(User))).scalar_one())


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


_AUTH_COLUMNS = [getattr(User.__table__.c, f) for f in AuthUser.__slots__]


async def get_auth_user(db: Database, user_id: uuid.UUID) -> AuthUser | None:
    """The user behind an access token: one indexed read on an autocommit connection, with no
    ORM session, since every authenticated request pays for it."""
    async with db.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        row = (
            await conn.execute(select(*_AUTH_COLUMNS).where(User.__table__.c.id == user_id))
        ).first()
    return AuthUser(*row) if row is not None else None


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(func.lower(User.email) == email.lower()))
    return result.scalar_one_or_none()


async def get_oauth_identity(
    session: AsyncSession, provider: str, subject: str
) -> OAuthIdentity | None:
    query = select(OAuthIdentity).where(
        OAuthIdentity.provider == provider, OAuthIdentity.subject == subject
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_users(
    session: AsyncSession, *, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[User]:
    query = select(User).order_by(User.created_at, User.id).limit(limit)
    if after is not None:
        query = query.where(
            (User.created_at > after[0]) | ((User.created_at == after[0]) & (User.id > after[1]))
        )
    return list((await session.execute(query)).scalars())


async def count_active_admins(session: AsyncSession) -> int:
    query = select(func.count()).select_from(User).where(User.is_admin, User.is_active)
    return int((await session.execute(query)).scalar_one())


async def last_logins(
    session: AsyncSession, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    if not user_ids:
        return {}
    query = (
        select(AuthSession.user_id, func.max(AuthSession.created_at))
        .where(AuthSession.user_id.in_(user_ids))
        .group_by(AuthSession.user_id)
    )
    return {row[0]: row[1] for row in await session.execute(query)}


async def get_refresh_token_for_update(
    session: AsyncSession, token_hash: str
) -> tuple[RefreshToken, AuthSession] | None:
    query = (
        select(RefreshToken, AuthSession)
        .join(AuthSession, AuthSession.id == RefreshToken.session_id)
        .where(RefreshToken.token_hash == token_hash)
        .with_for_update(of=AuthSession)
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else None


async def get_session(session: AsyncSession, session_id: uuid.UUID) -> AuthSession | None:
    return await session.get(AuthSession, session_id)


async def get_owned_session(
    session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID
) -> AuthSession | None:
    query = select(AuthSession).where(AuthSession.id == session_id, AuthSession.user_id == user_id)
    return (await session.execute(query)).scalar_one_or_none()


async def list_live_sessions(session: AsyncSession, user_id: uuid.UUID) -> list[AuthSession]:
    query = (
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > func.now(),
        )
        .order_by(AuthSession.last_used_at.desc())
    )
    return list((await session.execute(query)).scalars())


async def revoke_sessions(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    reason: str,
    only: uuid.UUID | None = None,
    except_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Revoke live sessions of a user; return the ids revoked."""
    stmt = (
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason=reason)
        .returning(AuthSession.id)
    )
    if only is not None:
        stmt = stmt.where(AuthSession.id == only)
    if except_id is not None:
        stmt = stmt.where(AuthSession.id != except_id)
    return list((await session.execute(stmt)).scalars())


async def get_user_token(session: AsyncSession, token_hash: str, purpose: str) -> UserToken | None:
    query = (
        select(UserToken)
        .where(UserToken.token_hash == token_hash, UserToken.purpose == purpose)
        .with_for_update()
    )
    return (await session.execute(query)).scalar_one_or_none()


async def count_recent_tokens(
    session: AsyncSession, user_id: uuid.UUID, purpose: str, *, hours: int = 24
) -> int:
    query = (
        select(func.count())
        .select_from(UserToken)
        .where(
            UserToken.user_id == user_id,
            UserToken.purpose == purpose,
            UserToken.created_at > utcnow() - timedelta(hours=hours),
        )
    )
    return int((await session.execute(query)).scalar_one())


async def expire_unused_tokens(session: AsyncSession, user_id: uuid.UUID, purpose: str) -> None:
    await session.execute(
        update(UserToken)
        .where(
            UserToken.user_id == user_id,
            UserToken.purpose == purpose,
            UserToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )


def add_security_event(
    session: AsyncSession,
    *,
    type: str,
    user_id: uuid.UUID | None,
    ip: str | None,
    user_agent: str | None,
    details: dict[str, object] | None = None,
) -> None:
    session.add(
        SecurityEvent(
            type=type, user_id=user_id, ip=ip, user_agent=user_agent, details=details or {}
        )
    )


async def recent_security_events(
    session: AsyncSession, user_id: uuid.UUID, limit: int = 20
) -> list[SecurityEvent]:
    query = (
        select(SecurityEvent)
        .where(SecurityEvent.user_id == user_id)
        .order_by(SecurityEvent.created_at.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
