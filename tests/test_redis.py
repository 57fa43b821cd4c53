"""The shared store behaves the same on Redis and in process."""

from __future__ import annotations

import asyncio

import pytest

from mailmind.redis import MemoryStore, RedisStore, StoreUnavailable
from tests.services import free_port


@pytest.fixture(params=["redis", "memory"])
async def store(request, redis_server):
    if request.param == "redis":
        s = RedisStore(redis_server.url, redis_server.password)
        await s.delete_matching("*")
    else:
        s = MemoryStore()
    yield s
    await s.delete_matching("*")
    await s.close()


async def test_values_expire(store):
    await store.set("k", "v", ttl=0.2)
    assert await store.get("k") == "v"
    assert await store.any_exists("nope", "k")
    await asyncio.sleep(0.3)
    assert await store.get("k") is None
    assert not await store.any_exists("k")


async def test_fixed_window_counter(store):
    counts = [await store.incr_window("rl:x", 60) for _ in range(3)]
    assert [c for c, _ in counts] == [1, 2, 3]
    assert all(0 < ttl <= 60 for _, ttl in counts)


async def test_exists_and_count_checks_counts_and_reads_in_one_call(store):
    assert await store.exists_and_count(("rev:a", "rev:b"), "rl:u", 60, "ver:u") == (
        False,
        1,
        60,
        None,
    )
    await store.set("rev:b", "1")
    await store.set("ver:u", "7")
    found, hits, window_left, value = await store.exists_and_count(
        ("rev:a", "rev:b"), "rl:u", 60, "ver:u"
    )
    assert (found, hits, value) == (True, 2, "7")
    assert 0 < window_left <= 60
    # No revocation keys at all (a token without jti): still counted.
    assert (await store.exists_and_count((), "rl:u", 60, "ver:none"))[1:2] == (3,)


async def test_delete_matching_only_touches_the_pattern(store):
    await store.set("throttle:acct:a:1", "1")
    await store.set("throttle:acct:a:2", "1")
    await store.set("throttle:acct:b:1", "1")
    assert await store.delete_matching("throttle:acct:a:*") == 2
    assert await store.get("throttle:acct:b:1") == "1"


async def test_publish_reaches_subscribers(store):
    received: list[tuple[str, str]] = []

    async def listen():
        async for item in store.subscribe("events:user-1"):
            received.append(item)
            return

    listener = asyncio.create_task(listen())
    for _ in range(50):  # until the subscription is live
        await store.publish("events:user-1", "hello")
        await asyncio.sleep(0.02)
        if received:
            break
    await asyncio.wait_for(listener, 2)
    assert received[0] == ("events:user-1", "hello")


async def test_wrong_password_and_unreachable_redis_raise_store_unavailable(redis_server):
    wrong = RedisStore(redis_server.url, "not-the-password")
    with pytest.raises(StoreUnavailable):
        await wrong.ping()
    await wrong.close()
    closed = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreUnavailable):
        await closed.get("x")
    await closed.close()
    with pytest.raises(StoreUnavailable):
        await closed.exists_and_count(("rev:a",), "rl:u", 60, "ver:u")
    await closed.close()


async def test_calls_survive_a_forgotten_script_and_killed_connections():
    import redis.asyncio as aioredis

    from tests.services import RedisServer

    # A server of its own: killing every client connection must not reach other tests'.
    server = RedisServer()
    store = RedisStore(server.url, server.password)
    admin = aioredis.Redis.from_url(server.url, password=server.password)
    try:
        await store.delete_matching("*")
        assert (await store.exists_and_count((), "rl:k", 60, "ver:k"))[1] == 1
        await admin.script_flush()  # as after a restart of Redis
        assert (await store.exists_and_count((), "rl:k", 60, "ver:k"))[1] == 2
        # Every client connection but the admin's dropped by the server: the next call
        # notices on its kept connection and goes through on a new one.
        await admin.client_kill_filter(skipme=True, _type="normal")
        assert (await store.exists_and_count((), "rl:k", 60, "ver:k"))[1] == 3
        # Concurrent calls open more connections; all of them agree on the count.
        counts = await asyncio.gather(
            *(store.exists_and_count((), "rl:k", 60, "ver:k") for _ in range(50))
        )
        assert sorted(c[1] for c in counts) == list(range(4, 54))
        # The pooled client of every other call notices a dropped connection the same way.
        await store.set("kept", "1")
        await admin.client_kill_filter(skipme=True, _type="normal")
        assert await store.get("kept") == "1"
        await admin.client_kill_filter(skipme=True, _type="normal")
        await store.set("kept", "2")
        assert await store.get("kept") == "2"
    finally:
        await store.close()
        await admin.aclose()
        server.stop()
