"""``/ws``: the WebSocket of PRODUCT_SPEC §4 (protocol summary in docs/realtime.md).

The first message must be ``{"type": "auth", "token": …}`` within ``WS_AUTH_TIMEOUT``; the token
is checked exactly as a bearer header is (:func:`mailmind.deps.auth_from_token`). The connection
then receives its owner's events until the client goes quiet for ``WS_IDLE_TIMEOUT``, its token
expires without a fresh ``auth``, or either side closes.

Close codes: 4401 authentication failed or expired, 4408 client silent too long, 1011 server
error, 1013 client too slow to keep up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import orjson
import structlog
from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.types import Message
from starlette.websockets import WebSocketDisconnect, WebSocketState

from mailmind.auth.service import access_revoked
from mailmind.deps import AuthContext, auth_from_token
from mailmind.errors import AuthError
from mailmind.kit.time import utcnow
from mailmind.metrics import WS_CONNECTIONS
from mailmind.realtime.hub import CLOSE_INTERNAL, Close, Connection, Hub
from mailmind.realtime.schemas import (
    CLIENT_MESSAGES,
    AuthMessage,
    ClientMessage,
    PingMessage,
    SubscribeMessage,
)
from mailmind.redis import StoreUnavailable
from mailmind.runtime import Runtime

log = structlog.get_logger(__name__)

router = APIRouter(tags=["realtime"])

CLOSE_UNAUTHORIZED = 4401
CLOSE_IDLE = 4408
# Client messages are a few dozen bytes; anything far larger is not one of ours.
MAX_MESSAGE_CHARS = 16_384
# A revocation (logout, password change, disabled user) reaches an open connection at its next
# ping; checked at most this often, so a client cannot turn pings into a Redis load.
REVOCATION_CHECK_EVERY = 15.0
# Time to flush a final error frame and close before giving up on a client that does not read.
CLOSE_GRACE = 5.0

_HUB_ATTR = "realtime_hub"


def _hub(app: Starlette, runtime: Runtime) -> Hub:
    # One hub per application (the lifespan's runtime and store): a process serves one app.
    hub: Hub | None = getattr(app.state, _HUB_ATTR, None)
    if hub is None:
        hub = Hub(runtime.store)
        setattr(app.state, _HUB_ATTR, hub)
    return hub


def _frame(type_: str, data: dict[str, Any] | None = None) -> str:
    return orjson.dumps({"type": type_, "data": data or {}}).decode()


def _error(code: str, message: str, details: dict[str, Any] | None = None) -> str:
    data: dict[str, Any] = {"code": code, "message": message}
    if details:
        data["details"] = details
    return _frame("error", data)


class _Invalid(Exception):
    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def _parse(message: Message) -> ClientMessage:
    text = message.get("text")
    if text is None:
        raise _Invalid("Messages must be JSON text frames")
    if len(text) > MAX_MESSAGE_CHARS:
        raise _Invalid(f"Messages are limited to {MAX_MESSAGE_CHARS} characters")
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise _Invalid("The message is not valid JSON") from exc
    kind = raw.get("type") if isinstance(raw, dict) else None
    model = CLIENT_MESSAGES.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise _Invalid("Unknown message type")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        fields = [
            {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
            for err in errors[:10]
        ]
        raise _Invalid("Invalid message", {"errors": fields}) from exc


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    await websocket.accept()
    WS_CONNECTIONS.inc()
    try:
        await _Session(websocket, runtime, _hub(websocket.app, runtime)).run()
    finally:
        WS_CONNECTIONS.dec()


class _Session:
    """One connection's protocol, from ``auth`` to close."""

    def __init__(self, websocket: WebSocket, runtime: Runtime, hub: Hub) -> None:
        self.ws = websocket
        self.runtime = runtime
        self.hub = hub
        self.auth: AuthContext | None = None
        self.revocation_checked = 0.0

    async def run(self) -> None:
        auth = await self._authenticate()
        if auth is None:
            return
        self.auth = auth
        conn = Connection(user_id=auth.user.id)
        conn.send(_frame("auth_ok", {"user_id": str(auth.user.id)}))
        try:
            await self.hub.register(conn)
        except StoreUnavailable as exc:
            log.error("realtime_unavailable", error=str(exc))
            await self._close_now(CLOSE_INTERNAL, _error("SRV002", "Live updates are unavailable"))
            return
        try:
            await self._serve(conn)
        finally:
            await self.hub.unregister(conn)

    # ---- before auth_ok: written directly, nothing else sends yet -----------------------

    async def _authenticate(self) -> AuthContext | None:
        timeout = self.runtime.settings.ws_auth_timeout
        try:
            async with asyncio.timeout(timeout):
                message = await self.ws.receive()
        except TimeoutError:
            await self._close_now(
                CLOSE_UNAUTHORIZED, _error("AUTH003", f"No auth message within {timeout:g} s")
            )
            return None
        if message["type"] == "websocket.disconnect":
            return None
        try:
            parsed = _parse(message)
        except _Invalid:
            parsed = None
        if not isinstance(parsed, AuthMessage):
            await self._close_now(
                CLOSE_UNAUTHORIZED,
                _error("AUTH003", 'The first message must be {"type": "auth", "token": …}'),
            )
            return None
        try:
            return await auth_from_token(self.runtime, parsed.token)
        except AuthError as exc:
            await self._close_now(CLOSE_UNAUTHORIZED, _error(exc.code, exc.message))
        except (StoreUnavailable, SQLAlchemyError) as exc:
            log.error("realtime_auth_failed", error=type(exc).__name__)
            await self._close_now(CLOSE_INTERNAL, _error("SRV002", "Service unavailable"))
        return None

    async def _close_now(self, code: int, frame: str) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_GRACE):
                await self.ws.send_text(frame)
                await self.ws.close(code)

    # ---- after auth_ok: the writer task is the only one that sends -----------------------

    async def _serve(self, conn: Connection) -> None:
        reader = asyncio.create_task(self._read(conn))
        writer = asyncio.create_task(self._write(conn))
        dropped = asyncio.create_task(conn.dropped.wait())
        tasks = {reader, writer, dropped}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if writer not in done and reader in done and not reader.exception() and reader.result():
                # The reader queued a final frame and a close: let the writer send them.
                await asyncio.wait(
                    {writer, dropped}, timeout=CLOSE_GRACE, return_when=asyncio.FIRST_COMPLETED
                )
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            # A client that vanished mid-send is a normal end; anything else is our fault.
            if isinstance(result, Exception) and not isinstance(
                result, WebSocketDisconnect | OSError
            ):
                log.error(
                    "realtime_connection_failed", error=type(result).__name__, exc_info=result
                )
                conn.drop(CLOSE_INTERNAL)
        if self._open():
            code = conn.close_code
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_GRACE):
                    await self.ws.close(code)

    def _open(self) -> bool:
        return (
            self.ws.client_state != WebSocketState.DISCONNECTED
            and self.ws.application_state != WebSocketState.DISCONNECTED
        )

    async def _write(self, conn: Connection) -> None:
        while True:
            item = await conn.outbox.get()
            if isinstance(item, Close):
                await self.ws.close(item.code)
                return
            await self.ws.send_text(item)

    async def _read(self, conn: Connection) -> bool:
        """Handle client messages; False when the client left, True once a close is queued."""
        idle = self.runtime.settings.ws_idle_timeout
        while True:
            assert self.auth is not None
            expires_in = (self.auth.claims.expires_at - utcnow()).total_seconds()
            try:
                async with asyncio.timeout(max(0.0, min(idle, expires_in))):
                    message = await self.ws.receive()
            except TimeoutError:
                if expires_in <= idle:
                    conn.send(_error("AUTH002", "Access token expired: send a fresh auth"))
                    conn.close(CLOSE_UNAUTHORIZED)
                else:
                    conn.close(CLOSE_IDLE)
                return True
            if message["type"] == "websocket.disconnect":
                return False
            try:
                parsed = _parse(message)
            except _Invalid as exc:
                conn.send(_error("VAL002", exc.message, exc.details))
                continue
            try:
                await self._handle(conn, parsed)
            except AuthError as exc:
                conn.send(_error(exc.code, exc.message))
                conn.close(CLOSE_UNAUTHORIZED)
                return True
            except (StoreUnavailable, SQLAlchemyError) as exc:
                log.error("realtime_auth_failed", error=type(exc).__name__)
                conn.send(_error("SRV002", "Service unavailable"))
                conn.close(CLOSE_INTERNAL)
                return True

    async def _handle(self, conn: Connection, message: ClientMessage) -> None:
        """Answer one message; an AuthError closes the connection as unauthorised."""
        assert self.auth is not None
        if isinstance(message, PingMessage):
            now = time.monotonic()
            if now - self.revocation_checked >= REVOCATION_CHECK_EVERY:
                self.revocation_checked = now
                if await access_revoked(self.runtime, self.auth.claims):
                    raise AuthError("AUTH003", "Access token revoked")
            conn.send(_frame("pong"))
        elif isinstance(message, AuthMessage):
            fresh = await auth_from_token(self.runtime, message.token)
            if fresh.user.id != self.auth.user.id:
                raise AuthError("AUTH003", "The token belongs to another user")
            self.auth = fresh
            conn.send(_frame("auth_ok", {"user_id": str(fresh.user.id)}))
        elif isinstance(message, SubscribeMessage):
            conn.subscribe(set(message.data.events))
        else:
            conn.unsubscribe(set(message.data.events))
