"""Per-process snapshots of signed-in users, so most authenticated requests skip the database.

A snapshot is used only while the user's version in the shared store is the one it was taken
under; every change to a user writes a new version after its transaction commits. Snapshots also
expire after ``MAX_AGE`` seconds, which bounds staleness if the store ever loses the versions.
Disabling or deleting a user also revokes their sessions, which the same round trip checks.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict

from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.auth.principal import AuthUser
from mailmind.db import after_commit
from mailmind.redis import Store

MAX_AGE = 30.0
MAX_ENTRIES = 10_000


def version_key(user_id: uuid.UUID) -> str:
    return f"user:{user_id}:v"


class AuthUserCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_age: float = MAX_AGE) -> None:
        self._entries: OrderedDict[uuid.UUID, tuple[str | None, float, AuthUser]] = OrderedDict()
        self.max_entries = max_entries
        self.max_age = max_age

    def get(self, user_id: uuid.UUID, version: str | None) -> AuthUser | None:
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        cached_version, taken_at, user = entry
        if cached_version != version or time.monotonic() - taken_at > self.max_age:
            del self._entries[user_id]
            return None
        return user

    def put(self, user_id: uuid.UUID, version: str | None, user: AuthUser) -> None:
        self._entries[user_id] = (version, time.monotonic(), user)
        self._entries.move_to_end(user_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def user_changed(session: AsyncSession, store: Store, user_id: uuid.UUID) -> None:
    """Mark every process's snapshot of the user stale once this transaction commits."""

    async def bump() -> None:
        await store.set(version_key(user_id), uuid.uuid4().hex)

    after_commit(session, bump)
