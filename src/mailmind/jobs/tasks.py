"""Operational tasks: clean-up of expired rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from mailmind.jobs.queue import task


@task("ops.purge_expired", cron="17 * * * *")
async def purge_expired(runtime: Any, *, timestamp: int | None = None) -> None:
    """Delete expired tokens, sessions and old security events (90 days)."""
    async with runtime.db.session() as session:
        await session.execute(
            text("DELETE FROM user_tokens WHERE expires_at < now() - interval '1 day'")
        )
        await session.execute(
            text("DELETE FROM auth_sessions WHERE expires_at < now() - interval '1 day'")
        )
        await session.execute(
            text("DELETE FROM security_events WHERE created_at < now() - interval '90 days'")
        )
        await session.execute(
            text("DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'")
        )
