"""Publishing per-user events to the WebSocket clients of every API replica.

Every event goes to one pub/sub channel, :data:`CHANNEL`, as
``{"user_id", "type", "data"}``; each API process holds one subscription to it and hands an
event only to the connections of its owner (:mod:`mailmind.realtime.hub`).

Why one channel rather than one per user: the shared store subscribes to a fixed set of channels
per subscription, so per-user channels would cost one Redis connection per connected user and
process. One channel costs one connection per process whatever the number of users, an event is
a few hundred bytes of ids and flags (never a body), and events follow mail arrival and
processing (hundreds per minute), so every replica reading every event and dropping the ones it
has no connection for is a dictionary lookup each.

Delivery is best effort, like everything in the shared store: a client that reconnects refetches
(PRODUCT_SPEC §2.7), so an event lost while Redis is unreachable is logged, never raised into
the sync or pipeline job that published it.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.db import after_commit
from mailmind.realtime.schemas import EVENT_TYPES
from mailmind.redis import Store, StoreUnavailable

log = structlog.get_logger(__name__)

CHANNEL = "mailmind:realtime"


def _default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_event(user_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> str:
    """The channel message of one event (UUIDs and datetimes as strings)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    message = {"user_id": user_id, "type": event_type, "data": data}
    return orjson.dumps(message, default=_default).decode()


async def publish(store: Store, user_id: uuid.UUID, event_type: str, data: dict[str, Any]) -> None:
    """Send ``{"type": event_type, "data": data}`` to every open connection of ``user_id``.

    Call it only for state that is already committed (see :func:`publish_after_commit`): clients
    refetch on events and must find the change. Raises ``ValueError`` for an event type that is
    not in PRODUCT_SPEC §4.
    """
    message = encode_event(user_id, event_type, data)
    try:
        await store.publish(CHANNEL, message)
    except StoreUnavailable as exc:
        log.warning("realtime_publish_failed", event=event_type, error=str(exc))


def publish_after_commit(
    session: AsyncSession,
    store: Store,
    user_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
) -> None:
    """:func:`publish` once the session's transaction commits; nothing on rollback.

    The event is encoded now, so a bad event type or an unserialisable value fails in the
    caller, and later changes to ``data`` do not leak into it.
    """
    message = encode_event(user_id, event_type, data)

    async def send() -> None:
        try:
            await store.publish(CHANNEL, message)
        except StoreUnavailable as exc:
            log.warning("realtime_publish_failed", event=event_type, error=str(exc))

    after_commit(session, send)
