"""The hourly clean-up removes what has expired and keeps what has not."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from mailmind.jobs.tasks import purge_expired
from mailmind.kit.time import utcnow
from mailmind.models import AuthSession, SecurityEvent, UserToken
from tests.conftest import create_user


async def test_purge_removes_expired_tokens_sessions_and_old_events(runtime):
    user = await create_user(runtime)
    now = utcnow()
    async with runtime.db.session() as session:
        session.add_all(
            [
                UserToken(
                    user_id=user.id,
                    purpose="verify_email",
                    token_hash="a" * 64,
                    expires_at=now - timedelta(days=2),
                ),
                UserToken(
                    user_id=user.id,
                    purpose="verify_email",
                    token_hash="b" * 64,
                    expires_at=now + timedelta(hours=1),
                ),
                AuthSession(user_id=user.id, expires_at=now - timedelta(days=2)),
                AuthSession(user_id=user.id, expires_at=now + timedelta(days=2)),
                SecurityEvent(user_id=user.id, type="login", created_at=now - timedelta(days=91)),
                SecurityEvent(user_id=user.id, type="login", created_at=now - timedelta(days=1)),
            ]
        )
    await purge_expired(runtime)
    async with runtime.db.session() as session:
        counts = [
            (await session.execute(select(func.count()).select_from(model))).scalar_one()
            for model in (UserToken, AuthSession, SecurityEvent)
        ]
    assert counts == [1, 1, 1]
