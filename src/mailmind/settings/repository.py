"""Loading the user row whose settings are read or changed."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.models import User


async def get_user(session: AsyncSession, user_id: uuid.UUID, *, lock: bool = False) -> User | None:
    return await session.get(User, user_id, with_for_update=lock)
