"""Mail account credentials: the sealed secret (password or OAuth tokens) and OAuth access tokens
refreshed before they expire (PRODUCT_SPEC §2.2 "Gmail/M365").

The secret is a small JSON object, ``{"password"}`` or ``{"access_token", "refresh_token"}``,
sealed with the runtime's :class:`~mailmind.kit.crypto.SecretBox` and bound to the account id, so
a ciphertext copied onto another account does not decrypt.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import orjson
import structlog
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from mailmind.auth.oauth import oidc_client
from mailmind.errors import AuthError
from mailmind.integrations.errors import MailAdapterError
from mailmind.integrations.oauth.errors import OAuthError
from mailmind.kit.time import utcnow
from mailmind.models import MailAccount
from mailmind.runtime import Runtime

log = structlog.get_logger(__name__)

# Refresh this long before the access token expires, so a sync that starts now can finish with it.
REFRESH_MARGIN = timedelta(minutes=5)
HTTP_TIMEOUT = 15.0

# Account kind -> sign-in provider (auth/oauth.py) and the scopes of §2.2 that mail access needs.
OAUTH_PROVIDER_OF_KIND = {"gmail": "google", "microsoft": "microsoft"}
MAIL_SCOPES = {
    "google": "https://mail.google.com/ openid email",
    "microsoft": "https://outlook.office.com/IMAP.AccessAsUser.All "
    "https://outlook.office.com/SMTP.Send offline_access openid email",
}


class OAuthTokenError(MailAdapterError):
    """No usable access token: the provider refused the refresh token (``auth``, permanent; the
    account is then ``auth_required``) or could not be reached (transient)."""


def _context(account: MailAccount) -> bytes:
    return b"mail-account:" + account.id.bytes


def seal_secret(runtime: Runtime, account: MailAccount, payload: dict[str, str]) -> None:
    """Encrypt ``payload`` into the account (``account.id`` must be set)."""
    key_id, sealed = runtime.secrets.encrypt(orjson.dumps(payload), context=_context(account))
    account.secret_key_id = key_id
    account.secret_ciphertext = sealed


def open_secret(runtime: Runtime, account: MailAccount) -> dict[str, str]:
    """The decrypted secret, ``{}`` when the account has none (the local account)."""
    if account.secret_ciphertext is None or account.secret_key_id is None:
        return {}
    raw = runtime.secrets.decrypt(
        account.secret_key_id, account.secret_ciphertext, context=_context(account)
    )
    value = orjson.loads(raw)
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def uses_oauth(account: MailAccount) -> bool:
    """Whether the account signs in with OAuth tokens (XOAUTH2) rather than a password."""
    return account.kind in OAUTH_PROVIDER_OF_KIND and account.oauth_token_expires_at is not None


def store_tokens(
    runtime: Runtime,
    account: MailAccount,
    response: dict[str, Any],
    *,
    previous_refresh_token: str | None = None,
) -> str:
    """Seal the tokens of a token-endpoint answer; return the access token.

    Google answers a refresh without a new refresh token (the old one stays valid); Microsoft
    rotates it, so whichever is newest is kept."""
    access = str(response["access_token"])
    refresh = str(response.get("refresh_token") or previous_refresh_token or "")
    try:
        expires_in = int(response.get("expires_in", 3600))
    except (TypeError, ValueError):
        expires_in = 3600
    seal_secret(runtime, account, {"access_token": access, "refresh_token": refresh})
    account.oauth_token_expires_at = utcnow() + timedelta(seconds=max(60, expires_in))
    return access


async def _refresh(runtime: Runtime, provider: str, refresh_token: str) -> dict[str, Any]:
    try:
        client = oidc_client(runtime, provider)
        document = await client.discovery()
    except (AuthError, OAuthError) as exc:
        raise OAuthTokenError(
            "connect", f"{provider}: the sign-in provider is unavailable", transient=True
        ) from exc
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client.provider.client_id,
        "client_secret": client.provider.client_secret,
    }
    if provider == "microsoft":
        # Microsoft requires the scopes again on a refresh (v2.0 token endpoint).
        form["scope"] = MAIL_SCOPES["microsoft"]
    try:
        response = await client.http.post(
            str(document["token_endpoint"]),
            data=form,
            headers={"Accept": "application/json"},
            timeout=HTTP_TIMEOUT,
        )
    except httpx.TimeoutException as exc:
        raise OAuthTokenError(
            "timeout", f"{provider}: token endpoint timed out", transient=True
        ) from exc
    except httpx.HTTPError as exc:
        raise OAuthTokenError(
            "connect", f"{provider}: token endpoint failed", transient=True
        ) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if error == "invalid_grant":
        # RFC 6749 §5.2: the refresh token is expired, revoked or was issued to someone else.
        raise OAuthTokenError("auth", f"{provider}: the refresh token was refused", transient=False)
    transient = response.status_code >= 500 or response.status_code == 429
    raise OAuthTokenError(
        "protocol",
        f"{provider}: token endpoint answered {response.status_code} ({error})",
        transient=transient,
    )


async def access_token(session: AsyncSession, runtime: Runtime, account: MailAccount) -> str:
    """A valid OAuth access token for the account, refreshed when it expires within 5 minutes.

    New tokens are stored on the account (flushed; the caller commits). When the provider
    refuses the refresh token the account is marked ``auth_required`` (with a ``sync_error``
    notification; committed at once, since the caller is going to fail) and
    :class:`OAuthTokenError` with reason ``auth`` is raised. Unreachable providers raise it with
    ``transient=True``.
    """
    provider = OAUTH_PROVIDER_OF_KIND.get(account.kind)
    secret = open_secret(runtime, account)
    refresh_token = secret.get("refresh_token")
    if provider is None or not refresh_token:
        raise OAuthTokenError("auth", "the account has no OAuth tokens", transient=False)
    expires_at = account.oauth_token_expires_at
    current = secret.get("access_token")
    if current and expires_at is not None and expires_at - utcnow() > REFRESH_MARGIN:
        return current
    try:
        body = await _refresh(runtime, provider, refresh_token)
    except OAuthTokenError as exc:
        log.warning(
            "oauth_refresh_failed", account_id=str(account.id), provider=provider, reason=exc.reason
        )
        if exc.reason == "auth":
            await _persist_auth_required(
                session,
                runtime,
                account,
                f"{account.email}: the sign-in with {provider} expired or was revoked; "
                "connect the account again",
            )
        raise
    token = store_tokens(runtime, account, body, previous_refresh_token=refresh_token)
    await session.flush()
    log.info("oauth_token_refreshed", account_id=str(account.id), provider=provider)
    return token


async def _persist_auth_required(
    session: AsyncSession, runtime: Runtime, account: MailAccount, error: str
) -> None:
    """Mark the account ``auth_required`` in a transaction of its own: the caller is about to
    raise, and its transaction would roll the state back. When the caller's transaction holds the
    account row (it changed it), waiting for it would never end, so after a short lock timeout
    the mark goes into the caller's session instead."""
    from mailmind.account.service import mark_auth_required

    try:
        async with runtime.db.session() as own:
            await own.execute(text("SET LOCAL lock_timeout = '2s'"))
            fresh = await own.get(MailAccount, account.id, with_for_update=True)
            if fresh is not None:
                await mark_auth_required(own, runtime, fresh, error)
                state, message = fresh.sync_state, fresh.sync_error
    except OperationalError:
        fresh = None
    if fresh is None:
        await mark_auth_required(session, runtime, account, error)
        return
    # The caller's copy shows the committed state without writing it a second time.
    set_committed_value(account, "sync_state", state)
    set_committed_value(account, "sync_error", message)
