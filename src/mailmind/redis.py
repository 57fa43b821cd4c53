"""Ephemeral shared state: caches, rate-limit counters, revoked tokens and pub/sub.

With ``REDIS_URL`` it lives in Redis and is shared by every replica; without it an in-process
implementation of the same interface is used, which is only correct for a single process.
Everything stored here may be lost without losing user data.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError


class StoreUnavailable(Exception):
    """The shared store cannot be reached (transient)."""


class Store(Protocol):
    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl: float | None = None) -> None: ...
    async def delete(self, *keys: str) -> None: ...
    async def any_exists(self, *keys: str) -> bool: ...
    async def incr_window(self, key: str, window: int) -> tuple[int, int]:
        """Count one hit in a fixed window; return (hits so far, seconds until the window ends)."""
        ...

    async def delete_matching(self, pattern: str) -> int: ...
    async def exists_and_count(
        self, keys: tuple[str, ...], counter: str, window: int, read: str
    ) -> tuple[bool, int, int, str | None]:
        """``any_exists(*keys)``, ``incr_window(counter, window)`` and ``get(read)`` in one
        round trip."""
        ...

    async def publish(self, channel: str, message: str) -> None: ...
    def subscribe(self, *channels: str) -> AsyncIterator[tuple[str, str]]: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryStore:
    """In-process store with expiring keys, for a single MailMind process."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float | None]] = {}
        self._subscribers: dict[str, set[asyncio.Queue[tuple[str, str]]]] = defaultdict(set)

    def _alive(self, key: str) -> tuple[str, float | None] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[1] is not None and item[1] <= time.monotonic():
            del self._data[key]
            return None
        return item

    async def get(self, key: str) -> str | None:
        item = self._alive(key)
        return item[0] if item else None

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._data[key] = (value, time.monotonic() + ttl if ttl else None)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._data.pop(key, None)

    async def any_exists(self, *keys: str) -> bool:
        return any(self._alive(key) is not None for key in keys)

    async def incr_window(self, key: str, window: int) -> tuple[int, int]:
        item = self._alive(key)
        now = time.monotonic()
        if item is None:
            self._data[key] = ("1", now + window)
            return 1, window
        expires = item[1] or now + window
        count = int(item[0]) + 1
        self._data[key] = (str(count), expires)
        return count, max(1, int(expires - now + 0.999))

    async def exists_and_count(
        self, keys: tuple[str, ...], counter: str, window: int, read: str
    ) -> tuple[bool, int, int, str | None]:
        found = await self.any_exists(*keys)
        hits, ttl = await self.incr_window(counter, window)
        return found, hits, ttl, await self.get(read)

    async def delete_matching(self, pattern: str) -> int:
        keys = [key for key in list(self._data) if fnmatch.fnmatchcase(key, pattern)]
        for key in keys:
            del self._data[key]
        return len(keys)

    async def publish(self, channel: str, message: str) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            queue.put_nowait((channel, message))

    async def subscribe(self, *channels: str) -> AsyncIterator[tuple[str, str]]:
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        for channel in channels:
            self._subscribers[channel].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            for channel in channels:
                self._subscribers[channel].discard(queue)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()


# KEYS: n revocation keys, the counter, the key to read; ARGV: n, the counter's window.
# The counter's expiry is set only when it has none (EXPIRE NX), as a fixed window.
_EXISTS_AND_COUNT = """
local n = tonumber(ARGV[1])
local found = 0
if n > 0 then found = redis.call('EXISTS', unpack(KEYS, 1, n)) end
local counter = KEYS[n + 1]
local hits = redis.call('INCR', counter)
local ttl = redis.call('TTL', counter)
if ttl < 0 then
  redis.call('EXPIRE', counter, ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {found, hits, ttl, redis.call('GET', KEYS[n + 2])}
"""


class _DirectConnections:
    """Connections of their own for the one command every authenticated request sends.

    redis-py's client wraps each command in retry, observability and connection-pool layers
    (and a script call in type checks) that cost several times the round trip itself (a
    profile of ``GET /api/auth/me`` under load: about 13 % of the worker's CPU). Here a command
    goes straight to a connection of the same settings; one that fails to send or answer is
    closed and the command is tried once more on a new connection. At most ``keep`` idle
    connections are kept; a burst opens more and closes the surplus afterwards.
    """

    def __init__(self, pool: aioredis.ConnectionPool, keep: int = 32) -> None:
        self._pool = pool
        self._idle: list[AbstractConnection] = []
        self._keep = keep

    async def execute(self, *args: str | int) -> object:
        for attempt in (1, 2):
            conn = self._idle.pop() if self._idle else self._new()
            try:
                await conn.send_command(*args)
                result = await conn.read_response()
            except (RedisConnectionError, RedisTimeoutError, OSError):
                await conn.disconnect()
                if attempt == 2:
                    raise
                continue
            except RedisError:
                self._release(conn)  # an error answer: the connection is fine
                raise
            except BaseException:
                await conn.disconnect()  # cancelled mid-command: its state is unknown
                raise
            self._release(conn)
            return result
        raise AssertionError("unreachable")

    def _new(self) -> AbstractConnection:
        connection: AbstractConnection = self._pool.connection_class(**self._pool.connection_kwargs)
        return connection

    def _release(self, conn: AbstractConnection) -> None:
        if len(self._idle) < self._keep:
            self._idle.append(conn)
        else:
            task = asyncio.get_running_loop().create_task(conn.disconnect())
            task.add_done_callback(lambda done: done.exception())

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(RedisError, OSError):
                await conn.disconnect()


class RedisStore:
    """The same interface on Redis (redis-py asyncio)."""

    def __init__(self, url: str, password: str | None = None) -> None:
        self._client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            password=password,
            decode_responses=True,
            socket_connect_timeout=3,
            socket_timeout=3,
            health_check_interval=30,
            # A pooled connection the server dropped (an idle timeout, a restart, a failover
            # of a managed Redis) fails the command once; it is then sent again, once, on a
            # fresh connection. Only a Redis that stays unreachable becomes StoreUnavailable.
            retry=Retry(NoBackoff(), 1),
        )
        self._direct = _DirectConnections(self._client.connection_pool)
        self._exists_and_count_sha = hashlib.sha1(  # Redis names scripts by SHA-1
            _EXISTS_AND_COUNT.encode(), usedforsecurity=False
        ).hexdigest()

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        try:
            yield
        except RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc
        except OSError as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def get(self, key: str) -> str | None:
        async with self._guard():
            value = await self._client.get(key)
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl: float | None = None) -> None:
        async with self._guard():
            if ttl:
                await self._client.set(key, value, px=max(1, int(ttl * 1000)))
            else:
                await self._client.set(key, value)

    async def delete(self, *keys: str) -> None:
        if keys:
            async with self._guard():
                await self._client.delete(*keys)

    async def any_exists(self, *keys: str) -> bool:
        if not keys:
            return False
        async with self._guard():
            return bool(await self._client.exists(*keys))

    async def incr_window(self, key: str, window: int) -> tuple[int, int]:
        async with self._guard():
            pipe = self._client.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
            pipe.ttl(key)
            count, _, ttl = await pipe.execute()
        return int(count), max(1, int(ttl)) if int(ttl) > 0 else window

    async def exists_and_count(
        self, keys: tuple[str, ...], counter: str, window: int, read: str
    ) -> tuple[bool, int, int, str | None]:
        # One EVALSHA instead of a five-command pipeline, sent directly (_DirectConnections).
        args: tuple[str | int, ...] = (len(keys) + 2, *keys, counter, read, len(keys), window)
        async with self._guard():
            try:
                reply = await self._direct.execute("EVALSHA", self._exists_and_count_sha, *args)
            except NoScriptError:  # a restarted or flushed Redis forgot the script
                await self._client.script_load(_EXISTS_AND_COUNT)
                reply = await self._direct.execute("EVALSHA", self._exists_and_count_sha, *args)
        if not isinstance(reply, list) or len(reply) != 4:
            raise StoreUnavailable(f"unexpected reply to EVALSHA: {reply!r}")
        found, hits, ttl, value = reply
        return bool(found), int(hits), int(ttl), None if value is None else str(value)

    async def delete_matching(self, pattern: str) -> int:
        deleted = 0
        async with self._guard():
            async for key in self._client.scan_iter(match=pattern, count=500):
                deleted += int(await self._client.delete(key))
        return deleted

    async def publish(self, channel: str, message: str) -> None:
        async with self._guard():
            await self._client.publish(channel, message)

    async def subscribe(self, *channels: str) -> AsyncIterator[tuple[str, str]]:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        async with self._guard():
            await pubsub.subscribe(*channels)
        try:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield str(item["channel"]), str(item["data"])
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def ping(self) -> None:
        async with self._guard():
            await self._client.ping()

    async def close(self) -> None:
        await self._direct.close()
        await self._client.aclose()


def create_store(url: str | None, password: str | None = None) -> Store:
    if url:
        return RedisStore(url, password)
    return MemoryStore()
