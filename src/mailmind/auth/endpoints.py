"""``/api/auth``: register, verify, login, refresh, logout, profile, reset, sessions."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Cookie, Path, Query, Request, Response, status
from fastapi.responses import RedirectResponse
from fastapi.security.utils import get_authorization_scheme_param

from mailmind.auth import oauth, service
from mailmind.auth.principal import AuthUser
from mailmind.auth.schemas import (
    EmailRequest,
    LoginRequest,
    LoginResponse,
    MessageResponse,
    ProfileUpdate,
    RefreshRequest,
    RefreshResponse,
    RegisterRequest,
    RegisterResponse,
    ResetPasswordRequest,
    ResetTokenResponse,
    SecurityEventRead,
    SessionRead,
    UserRead,
    VerifiedResponse,
)
from mailmind.deps import ClientDep, CurrentAuth, DbSession, RuntimeDep, claims_from_token
from mailmind.errors import AuthError, MailMindError
from mailmind.models import User
from mailmind.runtime import Runtime

router = APIRouter(prefix="/api/auth", tags=["auth"])

COOKIE_NAME = "mm_refresh"
COOKIE_PATH = "/api/auth"


def user_read(user: User | AuthUser) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        email_verified=user.email_verified_at is not None,
        is_admin=user.is_admin,
        is_active=user.is_active,
        language=user.language,
        timezone=user.timezone,
        created_at=user.created_at,
    )


def _set_refresh_cookie(
    response: Response, runtime: Runtime, token: str, *, persistent: bool
) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=runtime.settings.refresh_token_ttl if persistent else None,
        path=COOKIE_PATH,
        httponly=True,
        secure=True,
        samesite="strict",
    )


def _clear_refresh_cookie(response: Response) -> None:
    response.delete_cookie(
        COOKIE_NAME, path=COOKIE_PATH, httponly=True, secure=True, samesite="strict"
    )


@router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RegisterResponse,
    summary="Create an account (public; same answer whether the address exists)",
)
async def register(
    body: RegisterRequest, session: DbSession, runtime: RuntimeDep, client: ClientDep
) -> RegisterResponse:
    required = await service.register(
        session,
        runtime,
        client,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        accept_terms=body.accept_terms,
    )
    return RegisterResponse(
        message="If this address can be registered, the account is ready"
        + ("; check your inbox to verify it." if required else "."),
        verification_required=required,
    )


@router.get("/verify-email", response_model=VerifiedResponse)
async def verify_email(
    session: DbSession,
    runtime: RuntimeDep,
    client: ClientDep,
    token: Annotated[str, Query(max_length=512)],
) -> VerifiedResponse:
    await service.verify_email(session, runtime, client, token=token)
    return VerifiedResponse(verified=True)


@router.post("/resend-verification", response_model=MessageResponse)
async def resend_verification(
    body: EmailRequest, session: DbSession, runtime: RuntimeDep, client: ClientDep
) -> MessageResponse:
    await service.resend_verification(session, runtime, client, email=body.email)
    return MessageResponse(message="If the address needs verification, a new link is on its way.")


@router.post("/login", response_model=LoginResponse, response_model_exclude_none=True)
async def login(
    body: LoginRequest,
    response: Response,
    session: DbSession,
    runtime: RuntimeDep,
    client: ClientDep,
) -> LoginResponse:
    user, issued = await service.login(
        session,
        runtime,
        client,
        email=body.email,
        password=body.password,
        remember_me=body.remember_me,
    )
    _set_refresh_cookie(response, runtime, issued.refresh_token, persistent=body.remember_me)
    return LoginResponse(
        access_token=issued.access_token,
        expires_in=runtime.settings.access_token_ttl,
        user=user_read(user),
        refresh_token=issued.refresh_token if body.include_refresh_token else None,
    )


@router.post("/refresh", response_model=RefreshResponse, response_model_exclude_none=True)
async def refresh(
    response: Response,
    session: DbSession,
    runtime: RuntimeDep,
    client: ClientDep,
    body: RefreshRequest | None = None,
    mm_refresh: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> RefreshResponse:
    from_body = body.refresh_token if body else None
    token = from_body or mm_refresh
    if not token:
        raise AuthError("AUTH009", "No refresh token")
    issued = await service.refresh(session, runtime, client, token=token)
    if mm_refresh and not from_body:
        _set_refresh_cookie(
            response, runtime, issued.refresh_token, persistent=issued.session.persistent
        )
    wants_token = bool(from_body) or bool(body and body.include_refresh_token)
    return RefreshResponse(
        access_token=issued.access_token,
        expires_in=runtime.settings.access_token_ttl,
        refresh_token=issued.refresh_token if wants_token else None,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    client: ClientDep,
    mm_refresh: Annotated[str | None, Cookie(include_in_schema=False)] = None,
) -> Response:
    claims = None
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() == "bearer" and credentials:
        try:
            claims = await claims_from_token(runtime, credentials)
        except AuthError:
            claims = None  # logging out with an expired token still ends the cookie's session
    await service.logout(session, runtime, client, claims=claims, refresh_token=mm_refresh)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_refresh_cookie(response)
    return response


@router.get("/me", response_model=UserRead)
async def me(auth: CurrentAuth) -> UserRead:
    return user_read(auth.user)


@router.patch("/me", response_model=UserRead)
async def update_me(
    body: ProfileUpdate,
    auth: CurrentAuth,
    session: DbSession,
    runtime: RuntimeDep,
    client: ClientDep,
) -> UserRead:
    user = await service.update_profile(
        session,
        runtime,
        auth.user,
        client,
        current_session_id=auth.claims.session_id,
        full_name=body.full_name,
        language=body.language,
        timezone=body.timezone,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return user_read(user)


@router.delete("/me", status_code=status.HTTP_202_ACCEPTED, response_model=MessageResponse)
async def delete_me(
    auth: CurrentAuth,
    session: DbSession,
    runtime: RuntimeDep,
    client: ClientDep,
    response: Response,
) -> MessageResponse:
    await service.delete_account(session, runtime, auth.user, client)
    _clear_refresh_cookie(response)
    return MessageResponse(message="Your account is disabled and its data is being deleted.")


@router.post("/forgot-password", response_model=MessageResponse)
async def forgot_password(
    body: EmailRequest, session: DbSession, runtime: RuntimeDep, client: ClientDep
) -> MessageResponse:
    await service.forgot_password(session, runtime, client, email=body.email)
    return MessageResponse(message="If an account uses this address, a reset link is on its way.")


@router.get("/verify-reset-token", response_model=ResetTokenResponse)
async def verify_reset_token(
    session: DbSession, token: Annotated[str, Query(max_length=512)]
) -> ResetTokenResponse:
    masked = await service.verify_reset_token(session, token=token)
    return ResetTokenResponse(valid=True, email=masked)


@router.post("/reset-password", response_model=MessageResponse)
async def reset_password(
    body: ResetPasswordRequest, session: DbSession, runtime: RuntimeDep, client: ClientDep
) -> MessageResponse:
    await service.reset_password(
        session,
        runtime,
        client,
        token=body.token,
        new_password=body.new_password,
        confirm_password=body.confirm_password,
    )
    return MessageResponse(message="Your password was changed; every session was signed out.")


@router.get("/security-events", response_model=list[SecurityEventRead])
async def security_events(auth: CurrentAuth, session: DbSession) -> list[SecurityEventRead]:
    """The last 20 security events of the signed-in user (logins, resets, revocations …)."""
    events = await service.recent_security_events(session, auth.user)
    return [
        SecurityEventRead(
            id=e.id,
            type=e.type,
            created_at=e.created_at,
            ip=str(e.ip) if e.ip else None,
            user_agent=e.user_agent,
        )
        for e in events
    ]


@router.get("/sessions", response_model=list[SessionRead])
async def list_sessions(auth: CurrentAuth, session: DbSession) -> list[SessionRead]:
    sessions = await service.list_sessions(session, auth.user)
    return [
        SessionRead(
            id=s.id,
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            expires_at=s.expires_at,
            ip=str(s.ip) if s.ip else None,
            user_agent=s.user_agent,
            current=s.id == auth.claims.session_id,
        )
        for s in sessions
    ]


@router.delete("/sessions", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def revoke_other_sessions(
    auth: CurrentAuth, session: DbSession, runtime: RuntimeDep, client: ClientDep
) -> Response:
    await service.revoke_other_sessions(
        session, runtime, auth.user, client, current=auth.claims.session_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def revoke_session(
    session_id: uuid.UUID,
    auth: CurrentAuth,
    session: DbSession,
    runtime: RuntimeDep,
    client: ClientDep,
) -> Response:
    await service.revoke_session(session, runtime, auth.user, client, session_id=session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


ProviderName = Annotated[Literal["google", "microsoft"], Path()]


def _login_error_redirect(runtime: Runtime, code: str) -> RedirectResponse:
    return RedirectResponse(f"{runtime.settings.public_url}/login?error={code}", status_code=302)


@router.get("/login/{provider}", response_class=RedirectResponse, status_code=302)
async def oauth_login(provider: ProviderName, runtime: RuntimeDep) -> RedirectResponse:
    """Start signing in with Google or Microsoft (PKCE, state and nonce)."""
    try:
        url = await oauth.start_login(runtime, provider)
    except AuthError as exc:
        return _login_error_redirect(runtime, exc.code)
    return RedirectResponse(url, status_code=302)


@router.get("/callback/{provider}", response_class=RedirectResponse, status_code=302)
async def oauth_callback(
    provider: ProviderName,
    session: DbSession,
    runtime: RuntimeDep,
    client: ClientDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> RedirectResponse:
    """The provider sends the browser back here; on success the refresh cookie is set and the
    browser goes on to /auth/complete (no token in any URL). A mailbox connection
    (``purpose=connect``) saves the account and goes on to the accounts page."""
    if await oauth.state_purpose(runtime, state) == "connect":
        accounts_page = f"{runtime.settings.public_url}/settings/accounts"
        try:
            account = await oauth.finish_connect(
                session, runtime, provider, code=code, state=state, error=error
            )
        except MailMindError as exc:
            return RedirectResponse(f"{accounts_page}?error={exc.code}", status_code=302)
        return RedirectResponse(f"{accounts_page}?connected={account.id}", status_code=302)
    try:
        issued = await oauth.finish_login(
            session, runtime, client, provider, code=code, state=state, error=error
        )
    except AuthError as exc:
        return _login_error_redirect(runtime, exc.code)
    response = RedirectResponse(f"{runtime.settings.public_url}/auth/complete", status_code=302)
    _set_refresh_cookie(response, runtime, issued.refresh_token, persistent=True)
    return response
