"""``/ws`` over a real uvicorn server and real Redis, spoken to by the ``websockets`` client."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import uvicorn
from prometheus_client import REGISTRY
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from mailmind.auth.tokens import issue_access_token
from mailmind.realtime.hub import QUEUE_SIZE, Connection, Hub
from mailmind.realtime.publish import encode_event, publish, publish_after_commit
from mailmind.runtime import Runtime
from tests.conftest import app_for, bearer, create_user, login, runtime_with

# Upper bound for any single answer; a hang fails the test instead of blocking the session.
WAIT = 10.0


@asynccontextmanager
async def serve(runtime: Runtime, **uvicorn_options: Any) -> AsyncIterator[str]:
    """The app on a real uvicorn (same options as `mailmind api`), on a free loopback port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app_for(runtime),
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        **uvicorn_options,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(WAIT):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def ws_url(runtime: Runtime) -> AsyncIterator[str]:
    async with serve(runtime) as url:
        yield url


async def token_for(runtime: Runtime, client: Any, email: str | None = None) -> tuple[Any, str]:
    user = await create_user(runtime, email)
    return user, (await login(client, user.email))["access_token"]


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        frame = await ws.recv()
    message: dict[str, Any] = orjson.loads(frame)
    return message


async def close_code(ws: ClientConnection) -> int | None:
    """Read until the server closes; the close code it sent."""
    with pytest.raises(ConnectionClosed) as info:
        async with asyncio.timeout(WAIT):
            while True:
                await ws.recv()
    return info.value.rcvd.code if info.value.rcvd else None


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(orjson.dumps(message).decode())


async def authed(ws: ClientConnection, token: str) -> dict[str, Any]:
    await send(ws, {"type": "auth", "token": token})
    return await receive(ws)


async def barrier(ws: ClientConnection) -> None:
    """Messages are handled in order: once the pong is back, everything before it took effect."""
    await send(ws, {"type": "ping"})
    assert await receive(ws) == {"type": "pong", "data": {}}


async def test_auth_ok_carries_the_user_id(runtime: Runtime, client: Any, ws_url: str) -> None:
    user, token = await token_for(runtime, client)
    async with connect(ws_url) as ws:
        assert await authed(ws, token) == {"type": "auth_ok", "data": {"user_id": str(user.id)}}
        await barrier(ws)


async def test_no_auth_within_the_timeout_closes_4401(runtime: Runtime) -> None:
    async with serve(runtime_with(runtime, ws_auth_timeout=0.2)) as url, connect(url) as ws:
        error = await receive(ws)
        assert error["type"] == "error"
        assert error["data"]["code"] == "AUTH003"
        assert await close_code(ws) == 4401


async def test_a_bad_token_gets_auth003_and_close_4401(ws_url: str) -> None:
    async with connect(ws_url) as ws:
        error = await authed(ws, "not-a-jwt")
        assert error["type"] == "error"
        assert error["data"]["code"] == "AUTH003"
        assert await close_code(ws) == 4401


async def test_an_expired_token_gets_auth002(runtime: Runtime, ws_url: str) -> None:
    user = await create_user(runtime)
    token, _ = issue_access_token(
        runtime.settings.jwt_secret.get_secret_value(),
        user_id=user.id,
        session_id=uuid.uuid4(),
        ttl=-30,
    )
    async with connect(ws_url) as ws:
        error = await authed(ws, token)
        assert error["data"]["code"] == "AUTH002"
        assert await close_code(ws) == 4401


async def test_a_revoked_token_is_refused(runtime: Runtime, client: Any, ws_url: str) -> None:
    _, token = await token_for(runtime, client)
    assert (await client.post("/api/auth/logout", headers=bearer(token))).status_code == 204
    async with connect(ws_url) as ws:
        assert (await authed(ws, token))["data"]["code"] == "AUTH003"
        assert await close_code(ws) == 4401


async def test_the_first_message_must_be_auth(ws_url: str) -> None:
    async with connect(ws_url) as ws:
        await send(ws, {"type": "ping"})
        assert (await receive(ws))["data"]["code"] == "AUTH003"
        assert await close_code(ws) == 4401


async def test_logout_ends_an_open_connection_at_its_next_ping(
    runtime: Runtime, client: Any, ws_url: str
) -> None:
    _, token = await token_for(runtime, client)
    async with connect(ws_url) as ws:
        assert (await authed(ws, token))["type"] == "auth_ok"
        assert (await client.post("/api/auth/logout", headers=bearer(token))).status_code == 204
        await send(ws, {"type": "ping"})
        assert (await receive(ws))["data"]["code"] == "AUTH003"
        assert await close_code(ws) == 4401


async def test_ping_gets_pong(runtime: Runtime, client: Any, ws_url: str) -> None:
    _, token = await token_for(runtime, client)
    async with connect(ws_url) as ws:
        await authed(ws, token)
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong", "data": {}}


async def test_events_reach_only_their_owner(runtime: Runtime, client: Any, ws_url: str) -> None:
    alice, alice_token = await token_for(runtime, client)
    bob, bob_token = await token_for(runtime, client)
    received_at = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    async with connect(ws_url) as alice_ws, connect(ws_url) as bob_ws:
        await authed(alice_ws, alice_token)
        await authed(bob_ws, bob_token)
        email_id = uuid.uuid4()
        await publish(
            runtime.store,
            bob.id,
            "new_email",
            {"email_id": email_id, "subject": "For Bob", "received_at": received_at},
        )
        await publish(runtime.store, alice.id, "sync_status", {"status": "completed"})
        # Same channel, same order: had Bob's event reached Alice, it would come first.
        assert await receive(alice_ws) == {
            "type": "sync_status",
            "data": {"status": "completed"},
        }
        assert await receive(bob_ws) == {
            "type": "new_email",
            "data": {
                "email_id": str(email_id),
                "subject": "For Bob",
                "received_at": "2026-11-27T09:30:00+00:00",
            },
        }


async def test_every_connection_of_the_owner_gets_the_event(
    runtime: Runtime, client: Any, ws_url: str
) -> None:
    user, token = await token_for(runtime, client)
    async with connect(ws_url) as first, connect(ws_url) as second:
        await authed(first, token)
        await authed(second, token)
        await publish(runtime.store, user.id, "email_updated", {"email_ids": [], "changes": {}})
        for ws in (first, second):
            assert (await receive(ws))["type"] == "email_updated"


async def test_subscribe_narrows_and_unsubscribe_removes(
    runtime: Runtime, client: Any, ws_url: str
) -> None:
    user, token = await token_for(runtime, client)
    async with connect(ws_url) as ws:
        await authed(ws, token)
        await send(ws, {"type": "subscribe", "data": {"events": ["sync_status"]}})
        await barrier(ws)
        await publish(runtime.store, user.id, "new_email", {"subject": "filtered out"})
        await publish(runtime.store, user.id, "sync_status", {"status": "syncing"})
        assert await receive(ws) == {"type": "sync_status", "data": {"status": "syncing"}}

        # A second subscribe widens the set.
        await send(ws, {"type": "subscribe", "data": {"events": ["new_email"]}})
        await barrier(ws)
        await publish(runtime.store, user.id, "new_email", {"subject": "wanted"})
        assert await receive(ws) == {"type": "new_email", "data": {"subject": "wanted"}}

        await send(ws, {"type": "unsubscribe", "data": {"events": ["sync_status"]}})
        await barrier(ws)
        await publish(runtime.store, user.id, "sync_status", {"status": "filtered out"})
        await publish(runtime.store, user.id, "new_email", {"subject": "still wanted"})
        assert await receive(ws) == {"type": "new_email", "data": {"subject": "still wanted"}}


async def test_unsubscribe_from_everything_then_subscribe_widens_again(
    runtime: Runtime, client: Any, ws_url: str
) -> None:
    user, token = await token_for(runtime, client)
    async with connect(ws_url) as ws:
        await authed(ws, token)
        await send(ws, {"type": "unsubscribe", "data": {"events": ["notification"]}})
        await barrier(ws)
        await publish(runtime.store, user.id, "notification", {"title": "muted"})
        await publish(runtime.store, user.id, "email_processed", {"priority": 80})
        assert (await receive(ws))["type"] == "email_processed"

        await send(ws, {"type": "subscribe", "data": {"events": ["notification"]}})
        await barrier(ws)
        await publish(runtime.store, user.id, "notification", {"title": "heard"})
        await publish(runtime.store, user.id, "ai_suggestion", {"confidence": 0.9})
        assert await receive(ws) == {"type": "notification", "data": {"title": "heard"}}
        assert (await receive(ws))["type"] == "ai_suggestion"


@pytest.mark.parametrize(
    "message",
    [
        "{not json",
        '{"type": "dance"}',
        '{"type": ["ping"]}',
        '{"type": "ping", "extra": 1}',
        '{"type": "subscribe", "data": {"events": ["new_mail"]}}',
        '{"type": "subscribe", "data": {"events": []}}',
        '{"type": "unsubscribe"}',
        "[]",
    ],
)
async def test_invalid_messages_get_val002_and_the_connection_stays_open(
    runtime: Runtime, client: Any, ws_url: str, message: str
) -> None:
    _, token = await token_for(runtime, client)
    async with connect(ws_url) as ws:
        await authed(ws, token)
        await ws.send(message)
        error = await receive(ws)
        assert error["type"] == "error"
        assert error["data"]["code"] == "VAL002"
        await barrier(ws)


async def test_a_binary_frame_gets_val002(runtime: Runtime, client: Any, ws_url: str) -> None:
    _, token = await token_for(runtime, client)
    async with connect(ws_url) as ws:
        await authed(ws, token)
        await ws.send(b'{"type": "ping"}')
        assert (await receive(ws))["data"]["code"] == "VAL002"
        await barrier(ws)


async def test_reauth_with_a_fresh_token_of_the_same_user(
    runtime: Runtime, client: Any, ws_url: str
) -> None:
    user, token = await token_for(runtime, client)
    fresh = (await login(client, user.email))["access_token"]
    async with connect(ws_url) as ws:
        await authed(ws, token)
        assert await authed(ws, fresh) == {"type": "auth_ok", "data": {"user_id": str(user.id)}}
        await barrier(ws)


async def test_reauth_as_another_user_closes(runtime: Runtime, client: Any, ws_url: str) -> None:
    _, token = await token_for(runtime, client)
    _, other = await token_for(runtime, client)
    async with connect(ws_url) as ws:
        await authed(ws, token)
        assert (await authed(ws, other))["data"]["code"] == "AUTH003"
        assert await close_code(ws) == 4401


async def test_a_token_that_expires_without_reauth_closes(runtime: Runtime) -> None:
    user = await create_user(runtime)
    token, _ = issue_access_token(
        runtime.settings.jwt_secret.get_secret_value(),
        user_id=user.id,
        session_id=uuid.uuid4(),
        ttl=3,  # whole seconds from a truncated now: at least two of them left to log in
    )
    async with serve(runtime) as url, connect(url) as ws:
        assert (await authed(ws, token))["type"] == "auth_ok"
        error = await receive(ws)
        assert error["data"]["code"] == "AUTH002"
        assert await close_code(ws) == 4401


async def test_a_silent_client_is_closed(runtime: Runtime, client: Any) -> None:
    _, token = await token_for(runtime, client)
    async with serve(runtime_with(runtime, ws_idle_timeout=0.3)) as url, connect(url) as ws:
        await authed(ws, token)
        assert await close_code(ws) == 4408


async def test_events_cross_replicas_through_redis(
    runtime: Runtime, client: Any, pg_url: str
) -> None:
    """A worker (or another API replica) with its own Redis connection publishes; the client is
    served by a second app instance."""
    user, token = await token_for(runtime, client)
    replica = Runtime.create(runtime.settings, pg_url)
    try:
        async with serve(replica) as url, connect(url) as ws:
            await authed(ws, token)
            async with runtime.db.session() as session:
                publish_after_commit(
                    session, runtime.store, user.id, "sync_status", {"status": "completed"}
                )
            assert await receive(ws) == {"type": "sync_status", "data": {"status": "completed"}}
    finally:
        await replica.close()


async def test_publish_after_commit_publishes_nothing_on_rollback(
    runtime: Runtime, client: Any, ws_url: str
) -> None:
    user, token = await token_for(runtime, client)
    async with connect(ws_url) as ws:
        await authed(ws, token)
        with pytest.raises(LookupError):
            async with runtime.db.session() as session:
                publish_after_commit(session, runtime.store, user.id, "new_email", {"n": 1})
                raise LookupError
        await publish(runtime.store, user.id, "new_email", {"n": 2})
        assert await receive(ws) == {"type": "new_email", "data": {"n": 2}}


def test_unknown_event_types_are_refused_when_published() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        encode_event(uuid.uuid4(), "new_mail", {})


async def test_open_connections_are_counted(runtime: Runtime, client: Any, ws_url: str) -> None:
    _, token = await token_for(runtime, client)
    before = REGISTRY.get_sample_value("ws_connections") or 0
    async with connect(ws_url) as ws:
        await authed(ws, token)
        assert REGISTRY.get_sample_value("ws_connections") == before + 1


async def test_a_slow_connection_is_dropped_without_holding_up_the_others(
    runtime: Runtime,
) -> None:
    hub = Hub(runtime.store)
    user_id = uuid.uuid4()
    slow, fast = Connection(user_id=user_id), Connection(user_id=user_id)
    await hub.register(slow)
    await hub.register(fast)
    try:
        for n in range(QUEUE_SIZE + 10):
            hub.dispatch(encode_event(user_id, "email_updated", {"n": n}))
            assert orjson.loads(fast.outbox.get_nowait()) == {
                "type": "email_updated",
                "data": {"n": n},
            }
        assert slow.dropped.is_set()
        assert slow.close_code == 1013
        assert not fast.dropped.is_set()
    finally:
        await hub.unregister(slow)
        await hub.unregister(fast)


async def test_production_guard_lets_wss_through_and_refuses_plain_ws(
    runtime: Runtime, client: Any
) -> None:
    """Behind the TLS proxy uvicorn takes the scheme from X-Forwarded-Proto (wss)."""
    _, token = await token_for(runtime, client)
    production = runtime_with(runtime, app_env="production", allowed_hosts=["mail.example.com"])
    async with serve(production, proxy_headers=True, forwarded_allow_ips="127.0.0.1") as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])

        def connect_as(host: str, **headers: str) -> connect:
            # The Host header names the public host; the socket goes to the local server.
            return connect(
                f"ws://{host}:{port}/ws", host="127.0.0.1", port=port, additional_headers=headers
            )

        async with connect_as("mail.example.com", **{"X-Forwarded-Proto": "https"}) as ws:
            assert (await authed(ws, token))["type"] == "auth_ok"
        with pytest.raises(InvalidStatus):
            async with connect_as("mail.example.com"):
                pass
        with pytest.raises(InvalidStatus):
            async with connect_as("evil.example.com", **{"X-Forwarded-Proto": "https"}):
                pass
