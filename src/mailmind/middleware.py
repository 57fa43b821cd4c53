"""ASGI middleware: request ids with security headers, access log and metrics; body limits; the
production host / HTTPS guard. Pure ASGI (no BaseHTTPMiddleware) to keep the hot path short."""

from __future__ import annotations

import re
import time
import uuid

import orjson
import structlog
from starlette.datastructures import URL, Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailmind.errors import error_body
from mailmind.metrics import HTTP_DURATION, HTTP_REQUESTS

log = structlog.get_logger("mailmind.http")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# Probes and scrapers reach pods directly over plain HTTP with the pod address as host.
OPS_PATHS = frozenset({"/health", "/ready", "/metrics"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: https:; frame-src 'self' blob:; object-src 'none'; "
    "frame-ancestors 'none'"
)
# The Swagger page loads its script and styles from a CDN; only that page allows it.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
    "object-src 'none'; frame-ancestors 'none'"
)


async def send_error(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    body = orjson.dumps(error_body(code, message))
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Binds a request id, sets the security headers of PRODUCT_SPEC §2.9 (HSTS in production;
    a header the endpoint set itself is left alone), logs one line per request and records the
    HTTP metrics. One middleware and one send wrapper: this runs on every request."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-xss-protection", b"0"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if hsts:
            common.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        self.page_headers = [*common, (b"content-security-policy", CSP.encode())]
        self.api_headers = [*self.page_headers, (b"cache-control", b"no-store")]
        self.docs_headers = [*common, (b"content-security-policy", DOCS_CSP.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        path = scope["path"]
        if path == "/api/swagger":
            extra = self.docs_headers
        elif path.startswith("/api/"):
            extra = self.api_headers
        else:
            extra = self.page_headers
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in extra if pair[0] not in present)
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            duration = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_DURATION.labels(method, template, str(status)).observe(duration)
            if template not in OPS_PATHS:
                log.info(
                    "request",
                    method=method,
                    path=path,
                    route=template,
                    status=status,
                    duration_ms=round(duration * 1000, 1),
                    user_id=scope.get("state", {}).get("user_id"),
                )


class BodyLimitMiddleware:
    """Refuse bodies over the limit with VAL006 (413), by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        is_upload = headers.get("content-type", "").startswith("multipart/form-data")
        limit = self.upload_limit if is_upload else self.json_limit
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_error(send, 413, "VAL006", f"Request body is larger than {limit} bytes")
            return
        received = 0
        too_large = False
        replaced = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def checked_send(message: Message) -> None:
            # Frameworks turn a failed body read into their own 400; answer 413 instead.
            nonlocal replaced
            if too_large:
                if message["type"] == "http.response.start" and not replaced:
                    replaced = True
                    await send_error(
                        send, 413, "VAL006", f"Request body is larger than {limit} bytes"
                    )
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, checked_send)
        except _BodyTooLarge:
            if not replaced:
                await send_error(send, 413, "VAL006", f"Request body is larger than {limit} bytes")


class _BodyTooLarge(Exception):
    pass


class ProductionGuardMiddleware:
    """TrustedHost (``ALLOWED_HOSTS``) and the HTTPS redirect, answering in the spec's format.

    Health, readiness and metrics are exempt: probes reach the pod directly over HTTP.
    Behind a proxy, uvicorn takes the scheme from ``X-Forwarded-Proto`` of trusted addresses
    (``FORWARDED_ALLOW_IPS``), so TLS terminated at nginx counts as HTTPS.
    """

    def __init__(self, app: ASGIApp, *, allowed_hosts: list[str]) -> None:
        self.app = app
        self.allowed = [h.lower() for h in allowed_hosts]

    def _host_allowed(self, host: str) -> bool:
        for pattern in self.allowed:
            if pattern == "*" or host == pattern:
                return True
            if pattern.startswith("*.") and host.endswith(pattern[1:]):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"} or scope["path"] in OPS_PATHS:
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "").split(":")[0].lower()
        if not self._host_allowed(host):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await send_error(send, 400, "VAL002", "Host not allowed")
            return
        if scope["scheme"] in {"http", "ws"}:
            url = URL(scope=scope)
            target = url.replace(
                scheme="https" if scope["scheme"] == "http" else "wss", netloc=url.hostname or host
            )
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            status = 301 if scope["method"] in {"GET", "HEAD"} else 308
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"location", str(target).encode()), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)
