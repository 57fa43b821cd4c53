"""The per-process registry of WebSocket connections and the subscription that feeds them.

One background task per hub reads :data:`~mailmind.realtime.publish.CHANNEL` and gives each
event to the connections of its owner that asked for its type. It starts with the first
connection of the process and ends with the last one, so processes without clients hold no
Redis subscription.

A connection never blocks the others: events go into its bounded queue without waiting, and a
connection whose queue is full is dropped (close 1013). Its client reconnects and refetches,
which is cheaper than buffering without limit for a client that does not read.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import orjson
import structlog

from mailmind.realtime.publish import CHANNEL
from mailmind.realtime.schemas import EVENT_TYPES
from mailmind.redis import Store, StoreUnavailable

log = structlog.get_logger(__name__)

# Frames a connection may have waiting: a client that falls this far behind is not reading.
QUEUE_SIZE = 256
# RFC 6455 §7.4.1 registry: 1011 internal error, 1013 try again later.
CLOSE_INTERNAL = 1011
CLOSE_OVERLOADED = 1013
# How long the first connection waits for the subscription to be in place.
SUBSCRIBE_TIMEOUT = 10.0
_PROBE_EVERY = 0.05
_PROBE_PREFIX = "probe:"


@dataclass(frozen=True)
class Close:
    """Queued after the last frame: send a close frame with this code."""

    code: int


@dataclass(eq=False)
class Connection:
    """One authenticated WebSocket: its owner, the event types it receives and its outbox."""

    user_id: uuid.UUID
    events: set[str] = field(default_factory=lambda: set(EVENT_TYPES))
    outbox: asyncio.Queue[str | Close] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    # The code to close with: set by close() or drop(); 1011 if the connection just failed.
    close_code: int = CLOSE_INTERNAL
    # False until the client narrows the set: its first `subscribe` replaces "everything".
    filtered: bool = False

    def send(self, frame: str) -> bool:
        """Queue a frame; a full outbox drops the connection. False when it was not queued."""
        if self.dropped.is_set():
            return False
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            self.drop(CLOSE_OVERLOADED)
            return False
        return True

    def close(self, code: int) -> None:
        """Close after the frames already queued."""
        self.close_code = code
        try:
            self.outbox.put_nowait(Close(code))
        except asyncio.QueueFull:
            self.drop(code)

    def drop(self, code: int) -> None:
        """Close now, discarding what is queued."""
        if not self.dropped.is_set():
            self.close_code = code
            self.dropped.set()

    def subscribe(self, events: set[str]) -> None:
        self.events = set(events) if not self.filtered else self.events | events
        self.filtered = True

    def unsubscribe(self, events: set[str]) -> None:
        self.events -= events
        self.filtered = True


class Hub:
    """Connections of this process by user, fed by one subscription to the event channel."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._connections: dict[uuid.UUID, set[Connection]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def connection_count(self) -> int:
        return sum(len(conns) for conns in self._connections.values())

    async def register(self, conn: Connection) -> None:
        """Add a connection; events published after this returns reach it.

        Raises :class:`StoreUnavailable` when the subscription cannot be set up.
        """
        async with self._lock:
            self._connections[conn.user_id].add(conn)
            if self._task is None or self._task.done():
                try:
                    await self._start()
                except BaseException:
                    self._remove(conn)
                    raise

    async def unregister(self, conn: Connection) -> None:
        async with self._lock:
            self._remove(conn)
            if not self._connections and self._task is not None:
                task, self._task = self._task, None
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def _remove(self, conn: Connection) -> None:
        conns = self._connections.get(conn.user_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._connections[conn.user_id]

    async def _start(self) -> None:
        # The subscription is made inside the task, and pub/sub keeps nothing for late
        # subscribers: publish a probe until the task reads it back, then every later event
        # is seen too.
        ready = asyncio.Event()
        nonce = f"{_PROBE_PREFIX}{uuid.uuid4().hex}"
        task = asyncio.create_task(self._listen(nonce, ready), name="realtime-hub")
        self._task = task
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                while not ready.is_set():
                    if task.done():
                        task.result()
                        raise StoreUnavailable("the event subscription ended")
                    await self.store.publish(CHANNEL, nonce)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(ready.wait(), _PROBE_EVERY)
        except BaseException as exc:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            self._task = None
            if isinstance(exc, TimeoutError):
                raise StoreUnavailable("the event subscription did not start") from exc
            raise

    async def _listen(self, nonce: str, ready: asyncio.Event) -> None:
        try:
            async for _, message in self.store.subscribe(CHANNEL):
                if message.startswith(_PROBE_PREFIX):
                    if message == nonce:
                        ready.set()
                    continue
                self.dispatch(message)
        except Exception as exc:
            # Events published from now on are lost to this process's clients: drop them all,
            # they reconnect (restarting the subscription) and refetch.
            log.error("realtime_subscription_failed", error=str(exc))
        if ready.is_set():
            for conns in list(self._connections.values()):
                for conn in list(conns):
                    conn.drop(CLOSE_INTERNAL)

    def dispatch(self, message: str) -> None:
        """Hand one channel message to its owner's connections on this process."""
        try:
            event = orjson.loads(message)
            user_id = uuid.UUID(event["user_id"])
            event_type = event["type"]
            data = event["data"]
            if not isinstance(event_type, str) or not isinstance(data, dict):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("realtime_bad_event", size=len(message))
            return
        conns = self._connections.get(user_id)
        if not conns:
            return
        frame: str | None = None
        for conn in list(conns):
            if event_type in conn.events:
                if frame is None:
                    frame = orjson.dumps({"type": event_type, "data": data}).decode()
                conn.send(frame)
