"""Accounts, logins and sessions (PRODUCT_SPEC §2.1).

Services take the database session first, flush and never commit — except where a record must
survive the error answer: a reused refresh token revokes its family, and failed or throttled
logins leave a security event, so those paths commit before raising.
"""

from __future__ import annotations

import base64
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.auth import repository as repo
from mailmind.auth.passwords import check_password, hash_password, needs_rehash, verify_password
from mailmind.auth.principal import AuthUser
from mailmind.auth.throttle import LoginThrottle
from mailmind.auth.tokens import AccessClaims, issue_access_token
from mailmind.auth.usercache import user_changed
from mailmind.errors import AuthError, RateLimited, ResourceError, ValidationFailed, not_found
from mailmind.jobs.queue import defer
from mailmind.kit.crypto import new_token, token_hash
from mailmind.kit.time import utcnow
from mailmind.models import AuthSession, RefreshToken, SecurityEvent, User, UserToken
from mailmind.runtime import Runtime

log = structlog.get_logger(__name__)

VERIFY_TTL = timedelta(hours=24)
RESET_TTL = timedelta(hours=1)
MAILS_PER_DAY = 3
PURPOSE_VERIFY = "verify_email"
PURPOSE_RESET = "reset_password"


@dataclass(frozen=True)
class Client:
    """Where a request came from, for sessions, throttling and security events."""

    ip: str
    user_agent: str | None


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    claims: AccessClaims
    refresh_token: str
    session: AuthSession


def normalise_email(raw: str) -> str:
    """Syntax check only (no DNS): VAL004 when the address is not valid."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(
            "VAL004", "Invalid email address", details={"field": "email"}
        ) from exc
    return result.normalized.lower()


def verification_required(rt: Runtime) -> bool:
    return rt.settings.system_smtp_url is not None


def _revoked_sid_key(session_id: uuid.UUID) -> str:
    return f"revoked:sid:{session_id}"


def _revoked_jti_key(jti: str) -> str:
    return f"revoked:jti:{jti}"


async def _mark_sessions_revoked(rt: Runtime, session_ids: list[uuid.UUID]) -> None:
    # Access tokens of these sessions stop working at once, not when they expire.
    for sid in session_ids:
        await rt.store.set(_revoked_sid_key(sid), "1", rt.settings.access_token_ttl + 60)


def revocation_keys(claims: AccessClaims) -> tuple[str, str]:
    """Store keys whose presence means the token (by jti) or its session was revoked."""
    return _revoked_jti_key(claims.jti), _revoked_sid_key(claims.session_id)


async def access_revoked(rt: Runtime, claims: AccessClaims) -> bool:
    return await rt.store.any_exists(*revocation_keys(claims))


def _seal(rt: Runtime, token: str) -> str:
    key_id, sealed = rt.secrets.encrypt(token.encode(), context=b"mail-token")
    return f"{key_id}.{base64.urlsafe_b64encode(sealed).decode()}"


def unseal(rt: Runtime, value: str) -> str:
    key_id, _, encoded = value.partition(".")
    return rt.secrets.decrypt(
        key_id, base64.urlsafe_b64decode(encoded), context=b"mail-token"
    ).decode()


async def _issue_user_token(
    session: AsyncSession, rt: Runtime, user: User, purpose: str, ttl: timedelta, client: Client
) -> None:
    """Create a single-use token and enqueue the mail that carries it (≤3 a day, silently)."""
    if await repo.count_recent_tokens(session, user.id, purpose) >= MAILS_PER_DAY:
        log.info("user_mail_limited", purpose=purpose, user_id=str(user.id))
        return
    token = new_token()
    session.add(
        UserToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(token),
            expires_at=utcnow() + ttl,
        )
    )
    await session.flush()
    await defer(
        session,
        "auth.send_mail",
        kind=purpose,
        user_id=user.id,
        sealed_token=_seal(rt, token),
        ip=client.ip,
        user_agent=client.user_agent,
    )


async def register(
    session: AsyncSession,
    rt: Runtime,
    client: Client,
    *,
    email: str,
    password: str,
    full_name: str,
    accept_terms: bool,
) -> bool:
    """Create an account; the answer is the same whether or not the address exists."""
    email = normalise_email(email)
    if not accept_terms:
        raise ValidationFailed(
            "VAL003", "The terms must be accepted", details={"field": "accept_terms"}
        )
    check_password(password, email)
    first_user = await admit_new_user(session, rt)
    password_hash = await hash_password(password)  # also for known addresses: same timing
    existing = await repo.get_user_by_email(session, email)
    if existing is not None:
        repo.add_security_event(
            session,
            type="register_existing",
            user_id=existing.id,
            ip=client.ip,
            user_agent=client.user_agent,
        )
        return verification_required(rt)
    user = User(
        email=email,
        password_hash=password_hash,
        full_name=full_name.strip(),
        is_admin=first_user,
    )
    session.add(user)
    await session.flush()
    repo.add_security_event(
        session,
        type="register",
        user_id=user.id,
        ip=client.ip,
        user_agent=client.user_agent,
        details={"admin": first_user},
    )
    await _issue_user_token(session, rt, user, PURPOSE_VERIFY, VERIFY_TTL, client)
    return verification_required(rt)


async def admit_new_user(session: AsyncSession, rt: Runtime) -> bool:
    """May somebody new sign up? True for the first user (who becomes admin); AUTH004 when
    registration is closed. Holds the registration lock until the transaction ends."""
    await repo.lock_registration(session)
    first_user = await repo.count_users(session) == 0
    if not first_user and not rt.settings.allow_registration:
        raise AuthError("AUTH004", "Registration is closed on this server")
    return first_user


async def create_user(
    session: AsyncSession, *, email: str, password: str, full_name: str = "", admin: bool = False
) -> User:
    """For the CLI: a verified user, bypassing registration policy but not the password policy."""
    email = normalise_email(email)
    check_password(password, email)
    if await repo.get_user_by_email(session, email) is not None:
        raise ValidationFailed(
            "VAL008", "A user with this address exists", details={"field": "email"}
        )
    user = User(
        email=email,
        password_hash=await hash_password(password),
        full_name=full_name,
        is_admin=admin,
        email_verified_at=utcnow(),
    )
    session.add(user)
    await session.flush()
    return user


async def start_session(
    session: AsyncSession, rt: Runtime, user: User, client: Client, *, persistent: bool
) -> IssuedTokens:
    now = utcnow()
    auth_session = AuthSession(
        user_id=user.id,
        expires_at=now + timedelta(seconds=rt.settings.refresh_token_ttl),
        ip=client.ip,
        user_agent=(client.user_agent or "")[:512] or None,
        persistent=persistent,
        last_used_at=now,
    )
    session.add(auth_session)
    await session.flush()
    return await _issue_tokens(session, rt, auth_session, user.id)


async def _issue_tokens(
    session: AsyncSession, rt: Runtime, auth_session: AuthSession, user_id: uuid.UUID
) -> IssuedTokens:
    """A new refresh token in the session's family and an access token bound to the session."""
    refresh = new_token()
    session.add(
        RefreshToken(
            session_id=auth_session.id,
            token_hash=token_hash(refresh),
            expires_at=auth_session.expires_at,
        )
    )
    access, claims = issue_access_token(
        rt.settings.jwt_secret.get_secret_value(),
        user_id=user_id,
        session_id=auth_session.id,
        ttl=rt.settings.access_token_ttl,
    )
    await session.flush()
    return IssuedTokens(access, claims, refresh, auth_session)


async def login(
    session: AsyncSession,
    rt: Runtime,
    client: Client,
    *,
    email: str,
    password: str,
    remember_me: bool,
) -> tuple[User, IssuedTokens]:
    throttle = LoginThrottle(rt.store)
    key = email.strip().lower()
    try:
        await throttle.check(key, client.ip)
    except RateLimited:
        repo.add_security_event(
            session,
            type="login_throttled",
            user_id=None,
            ip=client.ip,
            user_agent=client.user_agent,
        )
        await session.commit()  # the event outlives the error answer
        raise
    user = await repo.get_user_by_email(session, key)
    usable = user is not None and user.deleted_at is None
    ok = await verify_password(user.password_hash if usable and user else None, password)
    if not ok or user is None:
        count = await throttle.failure(key, client.ip)
        repo.add_security_event(
            session,
            type="login_failed",
            user_id=user.id if user else None,
            ip=client.ip,
            user_agent=client.user_agent,
            details={"failures": count},
        )
        log.info("login_failed", failures=count)
        await session.commit()  # the event outlives the error answer
        raise AuthError("AUTH001", "Invalid email or password")
    if not user.is_active:
        raise AuthError("AUTH005", "This account is disabled")
    if verification_required(rt) and user.email_verified_at is None:
        raise AuthError("AUTH006", "Verify your e-mail address first")
    await throttle.success(key, client.ip)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    issued = await start_session(session, rt, user, client, persistent=remember_me)
    repo.add_security_event(
        session,
        type="login",
        user_id=user.id,
        ip=client.ip,
        user_agent=client.user_agent,
        details={"session_id": str(issued.session.id)},
    )
    return user, issued


async def refresh(
    session: AsyncSession, rt: Runtime, client: Client, *, token: str
) -> IssuedTokens:
    found = await repo.get_refresh_token_for_update(session, token_hash(token))
    if found is None:
        raise AuthError("AUTH009", "Invalid refresh token")
    stored, auth_session = found
    now = utcnow()
    if auth_session.revoked_at is not None or auth_session.expires_at <= now:
        raise AuthError("AUTH010", "Session expired; log in again")
    if stored.rotated_at is not None:
        # A rotated token came back: somebody holds a copy. End the whole family.
        revoked = await repo.revoke_sessions(
            session, auth_session.user_id, reason="refresh_reuse", only=auth_session.id
        )
        repo.add_security_event(
            session,
            type="refresh_reuse",
            user_id=auth_session.user_id,
            ip=client.ip,
            user_agent=client.user_agent,
            details={"session_id": str(auth_session.id)},
        )
        await session.commit()
        await _mark_sessions_revoked(rt, revoked)
        log.warning("refresh_token_reuse", session_id=str(auth_session.id))
        raise AuthError("AUTH009", "Refresh token was already used; the session has been ended")
    user = await repo.get_user(session, auth_session.user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise AuthError("AUTH010", "Session expired; log in again")
    stored.rotated_at = now
    auth_session.last_used_at = now
    auth_session.ip = client.ip
    return await _issue_tokens(session, rt, auth_session, user.id)


async def logout(
    session: AsyncSession,
    rt: Runtime,
    client: Client,
    *,
    claims: AccessClaims | None,
    refresh_token: str | None,
) -> None:
    session_id: uuid.UUID | None = claims.session_id if claims else None
    user_id: uuid.UUID | None = claims.user_id if claims else None
    if session_id is None and refresh_token:
        found = await repo.get_refresh_token_for_update(session, token_hash(refresh_token))
        if found is not None:
            session_id, user_id = found[1].id, found[1].user_id
    if claims is not None:
        remaining = max(1.0, (claims.expires_at - utcnow()).total_seconds())
        await rt.store.set(_revoked_jti_key(claims.jti), "1", remaining)
    if session_id is None or user_id is None:
        return
    revoked = await repo.revoke_sessions(session, user_id, reason="logout", only=session_id)
    await _mark_sessions_revoked(rt, revoked)
    repo.add_security_event(
        session, type="logout", user_id=user_id, ip=client.ip, user_agent=client.user_agent
    )


async def _load_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await repo.get_user(session, user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise AuthError("AUTH003", "Access token invalid")
    return user


async def update_profile(
    session: AsyncSession,
    rt: Runtime,
    actor: AuthUser,
    client: Client,
    *,
    current_session_id: uuid.UUID,
    full_name: str | None,
    language: str | None,
    timezone: str | None,
    current_password: str | None,
    new_password: str | None,
) -> User:
    user = await _load_user(session, actor.id)
    user_changed(session, rt.store, user.id)
    if timezone is not None:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationFailed(
                "VAL002", "Unknown time zone", details={"field": "timezone"}
            ) from exc
        user.timezone = timezone
    if full_name is not None:
        user.full_name = full_name.strip()
    if language is not None:
        user.language = language
    if new_password is not None:
        if current_password is None:
            raise ValidationFailed(
                "VAL001",
                "current_password is required to change the password",
                details={"field": "current_password"},
            )
        if not await verify_password(user.password_hash, current_password):
            raise AuthError("AUTH001", "The current password is wrong")
        check_password(new_password, user.email, field="new_password")
        user.password_hash = await hash_password(new_password)
        revoked = await repo.revoke_sessions(
            session, user.id, reason="password_changed", except_id=current_session_id
        )
        await _mark_sessions_revoked(rt, revoked)
        repo.add_security_event(
            session,
            type="password_changed",
            user_id=user.id,
            ip=client.ip,
            user_agent=client.user_agent,
        )
        await defer(
            session,
            "auth.send_mail",
            kind="password_changed",
            user_id=user.id,
            ip=client.ip,
            user_agent=client.user_agent,
        )
    await session.flush()
    return user


async def delete_account(
    session: AsyncSession, rt: Runtime, actor: AuthUser, client: Client
) -> None:
    """Disable at once, purge in a job (local data only; server mail is never touched)."""
    user = await _load_user(session, actor.id)
    user_changed(session, rt.store, user.id)
    user.is_active = False
    user.deleted_at = utcnow()
    revoked = await repo.revoke_sessions(session, user.id, reason="account_deleted")
    await _mark_sessions_revoked(rt, revoked)
    repo.add_security_event(
        session, type="account_deleted", user_id=user.id, ip=client.ip, user_agent=client.user_agent
    )
    await session.flush()
    await defer(session, "auth.purge_user", user_id=user.id)


async def _consume_token(session: AsyncSession, token: str, purpose: str) -> UserToken:
    stored = await repo.get_user_token(session, token_hash(token), purpose)
    if stored is None or stored.used_at is not None:
        raise AuthError("AUTH003", "This link is invalid or was already used")
    if stored.expires_at <= utcnow():
        raise AuthError("AUTH002", "This link has expired")
    return stored


async def verify_email(session: AsyncSession, rt: Runtime, client: Client, *, token: str) -> None:
    stored = await _consume_token(session, token, PURPOSE_VERIFY)
    stored.used_at = utcnow()
    user = await repo.get_user(session, stored.user_id)
    if user is None:
        raise AuthError("AUTH003", "This link is invalid or was already used")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        user_changed(session, rt.store, user.id)
    repo.add_security_event(
        session, type="email_verified", user_id=user.id, ip=client.ip, user_agent=client.user_agent
    )
    await session.flush()


async def resend_verification(
    session: AsyncSession, rt: Runtime, client: Client, *, email: str
) -> None:
    try:
        email = normalise_email(email)
    except ValidationFailed:
        return
    user = await repo.get_user_by_email(session, email)
    if user is None or user.email_verified_at is not None or not user.is_active:
        return
    await _issue_user_token(session, rt, user, PURPOSE_VERIFY, VERIFY_TTL, client)


async def forgot_password(
    session: AsyncSession, rt: Runtime, client: Client, *, email: str
) -> None:
    try:
        email = normalise_email(email)
    except ValidationFailed:
        return
    user = await repo.get_user_by_email(session, email)
    if user is None or not user.is_active or user.deleted_at is not None:
        return
    await _issue_user_token(session, rt, user, PURPOSE_RESET, RESET_TTL, client)


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


async def verify_reset_token(session: AsyncSession, *, token: str) -> str:
    stored = await _consume_token(session, token, PURPOSE_RESET)
    user = await repo.get_user(session, stored.user_id)
    if user is None:
        raise AuthError("AUTH003", "This link is invalid or was already used")
    return mask_email(user.email)


async def reset_password(
    session: AsyncSession,
    rt: Runtime,
    client: Client,
    *,
    token: str,
    new_password: str,
    confirm_password: str,
) -> None:
    stored = await _consume_token(session, token, PURPOSE_RESET)
    user = await repo.get_user(session, stored.user_id)
    if user is None or not user.is_active:
        raise AuthError("AUTH003", "This link is invalid or was already used")
    if new_password != confirm_password:
        raise ValidationFailed(
            "VAL002", "The passwords do not match", details={"field": "confirm_password"}
        )
    check_password(new_password, user.email, field="new_password")
    stored.used_at = utcnow()
    user_changed(session, rt.store, user.id)
    await repo.expire_unused_tokens(session, user.id, PURPOSE_RESET)
    user.password_hash = await hash_password(new_password)
    revoked = await repo.revoke_sessions(session, user.id, reason="password_reset")
    await _mark_sessions_revoked(rt, revoked)
    await LoginThrottle(rt.store).unlock(user.email)
    repo.add_security_event(
        session, type="password_reset", user_id=user.id, ip=client.ip, user_agent=client.user_agent
    )
    await session.flush()
    await defer(
        session,
        "auth.send_mail",
        kind="password_changed",
        user_id=user.id,
        ip=client.ip,
        user_agent=client.user_agent,
    )


async def list_sessions(session: AsyncSession, user: AuthUser) -> list[AuthSession]:
    return await repo.list_live_sessions(session, user.id)


async def revoke_session(
    session: AsyncSession, rt: Runtime, user: AuthUser, client: Client, *, session_id: uuid.UUID
) -> None:
    target = await repo.get_owned_session(session, user.id, session_id)
    if target is None:
        raise not_found("session")
    revoked = await repo.revoke_sessions(session, user.id, reason="revoked", only=session_id)
    await _mark_sessions_revoked(rt, revoked)
    repo.add_security_event(
        session,
        type="session_revoked",
        user_id=user.id,
        ip=client.ip,
        user_agent=client.user_agent,
        details={"session_id": str(session_id)},
    )


async def revoke_other_sessions(
    session: AsyncSession, rt: Runtime, user: AuthUser, client: Client, *, current: uuid.UUID
) -> int:
    revoked = await repo.revoke_sessions(session, user.id, reason="revoked", except_id=current)
    await _mark_sessions_revoked(rt, revoked)
    repo.add_security_event(
        session,
        type="sessions_revoked",
        user_id=user.id,
        ip=client.ip,
        user_agent=client.user_agent,
        details={"count": len(revoked)},
    )
    return len(revoked)


async def recent_security_events(session: AsyncSession, user: AuthUser) -> list[SecurityEvent]:
    return await repo.recent_security_events(session, user.id, limit=20)


# Admin


async def admin_list_users(
    session: AsyncSession, *, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> tuple[list[User], dict[uuid.UUID, datetime]]:
    users = await repo.list_users(session, limit=limit, after=after)
    return users, await repo.last_logins(session, [u.id for u in users])


async def admin_update_user(
    session: AsyncSession,
    rt: Runtime,
    admin: AuthUser,
    client: Client,
    *,
    user_id: uuid.UUID,
    is_active: bool | None,
    is_admin: bool | None,
) -> User:
    target = await repo.get_user(session, user_id)
    if target is None or target.deleted_at is not None:
        raise not_found("user")
    removes_admin = target.is_admin and (is_admin is False or is_active is False)
    if removes_admin and await repo.count_active_admins(session) <= 1:
        raise ResourceError("RES003", "The last active admin cannot be disabled or demoted")
    if is_active is not None and is_active != target.is_active:
        target.is_active = is_active
        if not is_active:
            revoked = await repo.revoke_sessions(session, target.id, reason="disabled")
            await _mark_sessions_revoked(rt, revoked)
    if is_admin is not None:
        target.is_admin = is_admin
    repo.add_security_event(
        session,
        type="admin_user_updated",
        user_id=target.id,
        ip=client.ip,
        user_agent=client.user_agent,
        details={"by": str(admin.id), "is_active": is_active, "is_admin": is_admin},
    )
    user_changed(session, rt.store, target.id)
    await session.flush()
    return target


async def admin_unlock_user(
    session: AsyncSession, rt: Runtime, admin: AuthUser, client: Client, *, user_id: uuid.UUID
) -> None:
    target = await repo.get_user(session, user_id)
    if target is None:
        raise not_found("user")
    cleared = await LoginThrottle(rt.store).unlock(target.email)
    repo.add_security_event(
        session,
        type="unlock",
        user_id=target.id,
        ip=client.ip,
        user_agent=client.user_agent,
        details={"by": str(admin.id), "cleared": cleared},
    )
