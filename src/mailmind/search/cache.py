"""Search results cached in the shared store for 300 s (PRODUCT_SPEC §2.6, §6).

A result is keyed by user, the user's *search generation* and the normalised request. Any change
to the user's mail (new mail, flags, moves, tags, AI results) replaces the generation, so every
cached result of that user is unreachable at once without scanning keys; the stale entries
expire on their own.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.db import after_commit
from mailmind.redis import Store, StoreUnavailable

RESULT_TTL = 300
# The generation outlives every result cached under it; a lost generation key reads as "0",
# under which nothing younger than this can be cached.
GENERATION_TTL = 86_400


def _generation_key(user_id: uuid.UUID) -> str:
    return f"search:gen:{user_id}"


async def bump_search_generation(store: Store, user_id: uuid.UUID) -> None:
    """Invalidate every cached search result of ``user_id`` (best effort: the results expire
    within 300 s anyway)."""
    with contextlib.suppress(StoreUnavailable):
        await store.set(_generation_key(user_id), uuid.uuid4().hex, GENERATION_TTL)


def bump_after_commit(session: AsyncSession, store: Store, user_id: uuid.UUID) -> None:
    """:func:`bump_search_generation` once ``session`` commits (a search in between must not
    cache the old state under the new generation)."""

    async def bump() -> None:
        await bump_search_generation(store, user_id)

    after_commit(session, bump)


async def result_key(store: Store, user_id: uuid.UUID, request: str) -> str:
    """The cache key of ``request`` (a canonical text of the query and its parameters)."""
    generation = await store.get(_generation_key(user_id)) or "0"
    digest = hashlib.sha256(request.encode()).hexdigest()[:32]
    return f"search:res:{user_id}:{generation}:{digest}"


async def get(store: Store, key: str) -> str | None:
    try:
        return await store.get(key)
    except StoreUnavailable:
        return None


async def put(store: Store, key: str, value: str) -> None:
    with contextlib.suppress(StoreUnavailable):
        await store.set(key, value, RESULT_TTL)
