"""Sign-in with Google or Microsoft (PRODUCT_SPEC §2.1 "Google/Microsoft login").

The callback finds the user by the provider's subject. An address the provider says is verified
links to an existing MailMind user with that address; otherwise a new user is created under the
registration policy. Tokens never travel in URLs: the callback sets the refresh cookie and sends
the browser to ``/auth/complete``, where the app calls ``/api/auth/refresh``.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.auth import repository as repo
from mailmind.auth.service import Client, IssuedTokens, admit_new_user, start_session
from mailmind.errors import AuthError
from mailmind.integrations.oauth.errors import OAuthError
from mailmind.integrations.oauth.oidc import OIDCClient, Provider
from mailmind.kit.time import utcnow
from mailmind.models import MailAccount, OAuthIdentity, User
from mailmind.runtime import Runtime

log = structlog.get_logger(__name__)

STATE_TTL = 600
PROVIDERS = ("google", "microsoft")


def provider_config(rt: Runtime, name: str) -> Provider:
    settings = rt.settings
    if name == "google" and settings.google_client_id and settings.google_client_secret:
        return Provider(
            name="google",
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret.get_secret_value(),
            discovery_url=settings.google_discovery_url,
        )
    if name == "microsoft" and settings.microsoft_client_id and settings.microsoft_client_secret:
        tenant = settings.microsoft_tenant_id
        return Provider(
            name="microsoft",
            client_id=settings.microsoft_client_id,
            client_secret=settings.microsoft_client_secret.get_secret_value(),
            discovery_url=settings.microsoft_discovery_url
            or f"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration",
            issuer_has_tenant=True,
        )
    raise AuthError("AUTH008", f"Sign-in with {name} is not configured")


def oidc_client(rt: Runtime, name: str) -> OIDCClient:
    client = rt.oidc_clients.get(name)
    if client is None:
        client = rt.oidc_clients[name] = OIDCClient(provider_config(rt, name), rt.http)
    return client


def redirect_uri(rt: Runtime, name: str) -> str:
    return f"{rt.settings.public_url}/api/auth/callback/{name}"


def _state_key(state: str) -> str:
    return f"oauth:state:{state}"


async def start_login(rt: Runtime, name: str) -> str:
    """The provider's authorization URL; state, nonce and PKCE verifier wait in the store."""
    try:
        request = await oidc_client(rt, name).authorization_request(
            redirect_uri(rt, name), prompt="select_account"
        )
    except OAuthError as exc:
        log.warning("oauth_start_failed", provider=name, error=str(exc))
        raise AuthError("AUTH008", "The sign-in provider is unavailable") from exc
    record = {
        "provider": name,
        "nonce": request.nonce,
        "verifier": request.code_verifier,
        "purpose": "login",
    }
    await rt.store.set(_state_key(request.state), orjson.dumps(record).decode(), STATE_TTL)
    return request.url


async def _take_state(rt: Runtime, state: str, name: str, purpose: str = "login") -> dict[str, Any]:
    raw = await rt.store.get(_state_key(state)) if state else None
    if raw is None:
        raise AuthError("AUTH008", "The sign-in request expired or was already used")
    await rt.store.delete(_state_key(state))  # single use
    record: dict[str, Any] = orjson.loads(raw)
    if record.get("provider") != name or record.get("purpose") != purpose:
        raise AuthError("AUTH008", "The sign-in request does not match this provider")
    return record


async def finish_login(
    session: AsyncSession,
    rt: Runtime,
    client: Client,
    name: str,
    *,
    code: str | None,
    state: str | None,
    error: str | None,
) -> IssuedTokens:
    record = await _take_state(rt, state or "", name)
    if error or not code:
        raise AuthError("AUTH008", "The provider did not grant access", details={"error": error})
    oidc = oidc_client(rt, name)
    try:
        tokens = await oidc.exchange_code(
            code=code, redirect_uri=redirect_uri(rt, name), code_verifier=record["verifier"]
        )
        identity = await oidc.verify_id_token(
            str(tokens.get("id_token", "")), nonce=record["nonce"]
        )
    except OAuthError as exc:
        log.warning("oauth_callback_failed", provider=name, error=str(exc))
        raise AuthError("AUTH008", "The sign-in could not be completed") from exc

    found = await repo.get_oauth_identity(session, name, identity.subject)
    user: User | None = await repo.get_user(session, found.user_id) if found else None
    if user is None:
        if not identity.email:
            raise AuthError("AUTH008", "The provider did not share an e-mail address")
        user = await repo.get_user_by_email(session, identity.email)
        if user is not None and not identity.email_verified:
            # Linking on an unverified address would hand the account to whoever typed it in.
            raise AuthError("AUTH008", "The provider has not verified this e-mail address")
        if user is None:
            first = await admit_new_user(session, rt)
            user = User(
                email=identity.email,
                password_hash=None,
                full_name=identity.name,
                is_admin=first,
                email_verified_at=utcnow() if identity.email_verified else None,
            )
            session.add(user)
            await session.flush()
        session.add(
            OAuthIdentity(
                user_id=user.id, provider=name, subject=identity.subject, email=identity.email
            )
        )
        repo.add_security_event(
            session,
            type="oauth_linked",
            user_id=user.id,
            ip=client.ip,
            user_agent=client.user_agent,
            details={"provider": name},
        )
    if not user.is_active or user.deleted_at is not None:
        raise AuthError("AUTH005", "This account is disabled")
    issued = await start_session(session, rt, user, client, persistent=True)
    repo.add_security_event(
        session,
        type="login",
        user_id=user.id,
        ip=client.ip,
        user_agent=client.user_agent,
        details={"session_id": str(issued.session.id), "provider": name},
    )
    return issued


# Connecting a Gmail / Microsoft 365 mailbox (PRODUCT_SPEC §2.2): the same callback, with
# ``purpose=connect`` in the state; the account service stores the mail tokens.


async def start_connect(
    rt: Runtime, name: str, *, user_id: uuid.UUID, scope: str, **extra: str
) -> str:
    """The provider's consent URL for mail access with ``scope``; the state remembers the user
    who asked (the callback itself carries no session)."""
    try:
        request = await oidc_client(rt, name).authorization_request(
            redirect_uri(rt, name), scope=scope, **extra
        )
    except OAuthError as exc:
        log.warning("oauth_start_failed", provider=name, error=str(exc))
        raise AuthError("AUTH008", "The provider is unavailable") from exc
    record = {
        "provider": name,
        "nonce": request.nonce,
        "verifier": request.code_verifier,
        "purpose": "connect",
        "user_id": str(user_id),
    }
    await rt.store.set(_state_key(request.state), orjson.dumps(record).decode(), STATE_TTL)
    return request.url


async def state_purpose(rt: Runtime, state: str | None) -> str | None:
    """What a pending state was issued for (``login`` or ``connect``), without using it up."""
    raw = await rt.store.get(_state_key(state)) if state else None
    if raw is None:
        return None
    purpose = orjson.loads(raw).get("purpose")
    return str(purpose) if purpose else None


async def finish_connect(
    session: AsyncSession,
    rt: Runtime,
    name: str,
    *,
    code: str | None,
    state: str | None,
    error: str | None,
) -> MailAccount:
    """Exchange the code, check the ID token and hand the tokens to the account service."""
    from mailmind.account.service import connect_oauth_account

    record = await _take_state(rt, state or "", name, purpose="connect")
    if error or not code:
        raise AuthError("AUTH008", "The provider did not grant access", details={"error": error})
    oidc = oidc_client(rt, name)
    try:
        tokens = await oidc.exchange_code(
            code=code, redirect_uri=redirect_uri(rt, name), code_verifier=record["verifier"]
        )
        identity = await oidc.verify_id_token(
            str(tokens.get("id_token", "")), nonce=record["nonce"]
        )
    except OAuthError as exc:
        log.warning("oauth_connect_failed", provider=name, error=str(exc))
        raise AuthError("AUTH008", "The connection could not be completed") from exc
    return await connect_oauth_account(
        session,
        rt,
        user_id=uuid.UUID(record["user_id"]),
        provider=name,
        token_response=tokens,
        identity=identity,
    )
