"""The FastAPI application: routers, middleware, error rendering and the lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from mailmind import __version__
from mailmind.account.endpoints import router as account_router
from mailmind.admin.endpoints import router as admin_router
from mailmind.assistant.endpoints import router as assistant_router
from mailmind.auth.endpoints import router as auth_router
from mailmind.compose.endpoints import router as compose_router
from mailmind.config import ConfigError, Settings, get_settings
from mailmind.errors import ErrorBody, MailMindError, error_body
from mailmind.imports.endpoints import router as import_router
from mailmind.mailbox.endpoints import router as folder_router
from mailmind.message.endpoints import router as email_router
from mailmind.middleware import (
    BodyLimitMiddleware,
    ProductionGuardMiddleware,
    RequestContextMiddleware,
)
from mailmind.ops.endpoints import router as ops_router
from mailmind.realtime.endpoints import router as realtime_router
from mailmind.redis import StoreUnavailable
from mailmind.runtime import Runtime
from mailmind.search.endpoints import router as search_router
from mailmind.settings.endpoints import router as settings_router
from mailmind.tag.endpoints import router as tag_router
from mailmind.thread.endpoints import router as thread_router

log = structlog.get_logger(__name__)

_RANGE_TYPES = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_long",
    "too_short",
    "string_too_long",
    "string_too_short",
    "list_too_long",
    "list_too_short",
    "multiple_of",
}


def _error_response(error: MailMindError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers or None)


def validation_error(exc: RequestValidationError) -> MailMindError:
    """Map FastAPI/pydantic validation errors to VAL001 (missing), VAL003 (range), VAL002."""
    errors = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body",)]
        errors.append(
            {"field": ".".join(loc) or "body", "type": err.get("type"), "message": err.get("msg")}
        )
    types = {e["type"] for e in errors}
    if "json_invalid" in types:
        code, message = "VAL002", "The request body is not valid JSON"
    elif "missing" in types:
        code, message = "VAL001", "Required field missing"
    elif types and types <= _RANGE_TYPES:
        code, message = "VAL003", "Field value out of range"
    else:
        code, message = "VAL002", "Invalid field format"
    first = next((e for e in errors if e["type"] == "missing"), errors[0] if errors else None)
    details: dict[str, Any] = {"errors": errors[:20]}
    if first:
        details["field"] = first["field"]
    return MailMindError(code, message, details=details)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MailMindError)
    async def _mailmind(_: Request, exc: MailMindError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error_response(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            web: WebClient | None = getattr(request.app.state, "web_client", None)
            if web is not None and WebClient.serves(request):
                answer = await web.response(request)
                if answer is not None:
                    return answer
            return _error_response(MailMindError("RES001", "No such endpoint"))
        if exc.status_code == 405:
            # Not a resource at this method: RES001's meaning with HTTP's own status and Allow.
            headers = dict(exc.headers or {})
            return JSONResponse(
                error_body(
                    "RES001",
                    "Method not allowed",
                    {"allowed": headers.get("Allow", "").split(", ")},
                ),
                status_code=405,
                headers=headers,
            )
        if exc.status_code == 413:
            return _error_response(MailMindError("VAL006"))
        if exc.status_code == 400:
            return _error_response(MailMindError("VAL002", "Malformed request"))
        code = "SRV001" if exc.status_code >= 500 else "VAL002"
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(StoreUnavailable)
    async def _store(_: Request, exc: StoreUnavailable) -> JSONResponse:
        log.error("store_unavailable", error=str(exc))
        return _error_response(MailMindError("SRV002", "A backing service is unavailable"))

    @app.exception_handler(SQLAlchemyError)
    async def _database(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.error("database_error", error=type(exc).__name__, exc_info=exc)
        return _error_response(MailMindError("SRV006"))

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", error=type(exc).__name__, exc_info=exc)
        return _error_response(MailMindError("SRV001"))


_DOCUMENTED_ERRORS = {
    "400": "Invalid input (VAL001–VAL008) or a refused action",
    "401": "Missing, expired or invalid credentials (AUTH001–AUTH003, AUTH010)",
    "403": "Not allowed (AUTH004, RES005)",
    "404": "Not found, or not yours (RES001)",
    "413": "Request too large (VAL006)",
    "429": "Rate limited (RATE001–RATE003, AUTH007), with Retry-After",
    "500": "Internal error (SRV001, SRV006)",
    "503": "A backing service is unavailable (SRV002)",
}


def _openapi_with_spec_errors(app: FastAPI) -> dict[str, Any]:
    """OpenAPI without FastAPI's 422 (never sent) and with the spec's error body documented."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schemas["ErrorBody"].pop("$defs", {}).items():
        schemas[name] = definition
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, description in _DOCUMENTED_ERRORS.items():
                responses.setdefault(status, {"description": description, **ref})
    app.openapi_schema = schema
    return schema


def freeze_startup_heap() -> None:
    """Moves what start-up allocated (modules, routes, settings: some 190,000 objects) out of
    the cycle collector's reach, so a full collection scans only what requests left behind.
    Unfrozen, each full collection paused the event loop for 100-200 ms and set p99 latency."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. Without ``runtime`` the lifespan creates one from ``DATABASE_URL``;
    with one, its settings are the app's."""
    settings = runtime.settings if runtime is not None else (settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_runtime = runtime is None
        if runtime is None:
            if settings.database_url is None:
                raise ConfigError("DATABASE_URL is not set (start with `mailmind serve`)")
            app.state.runtime = Runtime.create(settings, settings.database_url.get_secret_value())
        else:
            app.state.runtime = runtime
        from mailmind.jobs.queue import load_tasks

        load_tasks()
        if own_runtime:
            freeze_startup_heap()
        try:
            yield
        finally:
            if own_runtime:
                await app.state.runtime.close()

    app = FastAPI(
        title="MailMind API",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url="/api/swagger",
        redoc_url=None,
    )
    if runtime is not None:
        app.state.runtime = runtime
    app.openapi = lambda: _openapi_with_spec_errors(app)  # type: ignore[method-assign]
    install_error_handlers(app)
    app.include_router(ops_router)
    app.include_router(auth_router)
    app.include_router(admin_router)
    app.include_router(account_router)
    app.include_router(realtime_router)
    app.include_router(email_router)
    app.include_router(compose_router)
    app.include_router(folder_router)
    app.include_router(thread_router)
    app.include_router(tag_router)
    app.include_router(import_router)
    app.include_router(search_router)
    app.include_router(assistant_router)
    app.include_router(settings_router)
    _mount_web(app)

    # Added last = outermost: the request context sees every answer, guards included.
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["Retry-After", "X-Request-ID"],
        )
    app.add_middleware(
        BodyLimitMiddleware,
        json_limit=settings.max_json_bytes,
        upload_limit=settings.import_max_bytes,
    )
    if settings.is_production:
        app.add_middleware(ProductionGuardMiddleware, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(RequestContextMiddleware, hsts=settings.is_production)
    return app


class WebClient:
    """The built web client (web/dist). It answers only what no API route took: a ``GET`` of a
    file of the build, or ``index.html`` for a client-side route (``/mail/inbox``,
    ``/settings/accounts``) so that a reload or a bookmark works. It is consulted by the 404
    handler rather than mounted at ``/``, so that every API path keeps its own answers (405
    with Allow for a wrong method, RES001 for an unknown path)."""

    def __init__(self, dist: Path) -> None:
        from starlette.staticfiles import StaticFiles

        self.files = StaticFiles(directory=dist)

    @staticmethod
    def serves(request: Request) -> bool:
        path = request.url.path
        return request.method in ("GET", "HEAD") and not (
            path == "/api" or path.startswith(("/api/", "/ws"))
        )

    async def response(self, request: Request) -> Response | None:
        path = request.url.path.lstrip("/")
        try:
            return await self.files.get_response(path or "index.html", request.scope)
        except StarletteHTTPException as exc:
            if exc.status_code != 404 or "." in path.rsplit("/", 1)[-1]:
                return None  # a missing file of the build stays a 404
        return await self.files.get_response("index.html", request.scope)


def _mount_web(app: FastAPI, dist: Path | None = None) -> None:
    """Serve the built web client (web/dist) in single-process mode when it exists."""
    dist = dist or Path(__file__).resolve().parents[2] / "web" / "dist"
    if (dist / "index.html").is_file():
        app.state.web_client = WebClient(dist)
