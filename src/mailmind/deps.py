"""Dependencies shared by every domain: runtime, database session, client, current user."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.auth import repository as auth_repo
from mailmind.auth.principal import AuthUser
from mailmind.auth.service import Client, access_revoked, revocation_keys
from mailmind.auth.tokens import AccessClaims, decode_access_token
from mailmind.auth.usercache import version_key
from mailmind.errors import AuthError, RateLimited
from mailmind.runtime import Runtime

bearer = HTTPBearer(auto_error=False, description="Access token from /api/auth/login")


# Dependencies are `async def` even when they do not await: FastAPI runs plain `def`
# dependencies in a thread pool, a thread hop on every request.


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One session per request, committed when the endpoint returns without error."""
    async with runtime.db.session() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_client(request: Request) -> Client:
    ip = request.client.host if request.client else "0.0.0.0"  # noqa: S104 - a label, not a bind
    return Client(ip=ip, user_agent=request.headers.get("user-agent"))


ClientDep = Annotated[Client, Depends(get_client)]


@dataclass(frozen=True)
class AuthContext:
    user: AuthUser
    claims: AccessClaims


async def claims_from_token(runtime: Runtime, token: str) -> AccessClaims:
    """Decode and check an access token: AUTH002 expired, AUTH003 invalid or revoked."""
    claims = decode_access_token(runtime.settings.jwt_secret.get_secret_value(), token)
    if await access_revoked(runtime, claims):
        raise AuthError("AUTH003", "Access token revoked")
    return claims


async def current_auth(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AuthContext:
    """The signed-in user; every authenticated request passes here, so it stays lean: one
    dependency below it (the bearer scheme, which also documents it in OpenAPI), one Redis
    round trip (revocation, the per-user API limit, the user's version) and, only when this
    process has no current snapshot of the user, one indexed read."""
    if credentials is None:
        raise AuthError("AUTH003", "Missing access token")
    runtime: Runtime = request.app.state.runtime
    claims = decode_access_token(
        runtime.settings.jwt_secret.get_secret_value(), credentials.credentials
    )
    limit, window = runtime.api_rate
    revoked, hits, retry_after, version = await runtime.store.exists_and_count(
        revocation_keys(claims), f"rl:api:{claims.user_id}", window, version_key(claims.user_id)
    )
    if revoked:
        raise AuthError("AUTH003", "Access token revoked")
    if hits > limit:
        raise RateLimited("RATE001", retry_after, details={"limit": "api"})
    user = await active_user(runtime, claims.user_id, version)
    request.state.user_id = str(user.id)
    return AuthContext(user=user, claims=claims)


async def active_user(runtime: Runtime, user_id: uuid.UUID, version: str | None) -> AuthUser:
    """The token's user from this process's snapshot (when taken under ``version``) or the
    database; AUTH003 when the user is gone or disabled."""
    user = runtime.user_cache.get(user_id, version)
    if user is None:
        user = await auth_repo.get_auth_user(runtime.db, user_id)
        if user is not None:
            runtime.user_cache.put(user_id, version, user)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise AuthError("AUTH003", "Access token invalid")
    return user


async def auth_from_token(runtime: Runtime, token: str) -> AuthContext:
    """The checks of :func:`current_auth` without the per-request API limit, for transports
    that carry the token in a message (the WebSocket's ``auth``)."""
    claims = await claims_from_token(runtime, token)
    version = await runtime.store.get(version_key(claims.user_id))
    return AuthContext(user=await active_user(runtime, claims.user_id, version), claims=claims)


CurrentAuth = Annotated[AuthContext, Depends(current_auth)]


async def admin_auth(auth: CurrentAuth) -> AuthContext:
    if not auth.user.is_admin:
        raise AuthError("AUTH004", "Administrators only")
    return auth


AdminAuth = Annotated[AuthContext, Depends(admin_auth)]
