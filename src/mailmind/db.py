"""Database engine, sessions and URL handling (SQLAlchemy 2, async, psycopg 3)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from mailmind.config import ConfigError


def libpq_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the plain ``postgresql://`` form libpq understands."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "postgres":
        scheme = "postgresql"
    if scheme != "postgresql":
        raise ConfigError("DATABASE_URL must be a postgresql:// URL")
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


def sqlalchemy_url(url: str) -> str:
    """The same URL with the async psycopg driver SQLAlchemy uses."""
    return "postgresql+psycopg" + libpq_url(url)[len("postgresql") :]


log = structlog.get_logger(__name__)

AFTER_COMMIT = "mailmind.after_commit"


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[None]]) -> None:
    """Run ``callback`` once the session's transaction is committed (not on rollback): cache
    invalidations must not run before other readers can see the new rows."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


def json_dumps(value: Any) -> str:
    """JSON columns' serialiser: orjson (a message row has six JSON columns, and the standard
    library's encoder was a visible share of storing one), the standard library for the rare
    value orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


class Database:
    """One engine and session factory per process."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.url = libpq_url(url)
        # DATABASE_POOL_SIZE connections, kept open: an overflow would open and close a
        # connection per request under load. No pre-ping (a round trip per checkout); dead
        # connections are dropped when they fail and recycled after 30 minutes.
        self.engine: AsyncEngine = create_async_engine(
            sqlalchemy_url(url),
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=30,
            pool_recycle=1800,
            json_serializer=json_dumps,
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block succeeds and rolls back otherwise; then runs
        what :func:`after_commit` registered."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            for callback in session.info.pop(AFTER_COMMIT, []):
                try:
                    await callback()
                except Exception:
                    log.exception("after_commit_failed")

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
