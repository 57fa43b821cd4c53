"""Mail accounts (PRODUCT_SPEC §2.2): adding with a login check, editing, deleting, manual sync,
OAuth-connected Gmail and Microsoft 365 mailboxes, the local import account, and the connection
settings every mail job uses.

Services take the database session first, flush and never commit: the request or the job that
owns the session commits, so an account and its first sync job appear together or not at all.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import structlog
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.account import autodetect, tokens
from mailmind.account import repository as repo
from mailmind.account.providers import OAUTH_PROVIDERS
from mailmind.account.schemas import (
    AccountCreate,
    AccountRead,
    AccountUpdate,
    ServerIn,
    ServerRead,
    SyncSettingsRead,
)
from mailmind.auth import oauth
from mailmind.auth import repository as auth_repo
from mailmind.auth.principal import AuthUser
from mailmind.errors import (
    AuthError,
    MailError,
    RateLimited,
    ResourceError,
    ValidationFailed,
)
from mailmind.integrations.imap import ImapConfig, ImapError, check_imap_login
from mailmind.integrations.oauth.oidc import Identity
from mailmind.integrations.smtp import SmtpConfig, SmtpError, check_smtp_login
from mailmind.jobs.queue import app as job_app
from mailmind.jobs.queue import defer
from mailmind.kit.time import isoformat, utcnow
from mailmind.models import MailAccount, Notification
from mailmind.realtime.publish import publish_after_commit
from mailmind.runtime import Runtime

log = structlog.get_logger(__name__)

# PRODUCT_SPEC §2.2: both logins are tested within 20 s before an account is saved.
LOGIN_CHECK_SECONDS = 20.0
# PRODUCT_SPEC §2.2: at most one manual sync per account a minute.
MANUAL_SYNC_INTERVAL = 60
SPEC_REASONS = frozenset({"dns", "connect", "tls", "auth", "timeout"})
OAUTH_KIND_OF_PROVIDER = {"google": "gmail", "microsoft": "microsoft"}
# What the provider's consent screen needs besides the scopes to hand out a refresh token.
OAUTH_CONNECT_PARAMS = {
    "google": {"access_type": "offline", "prompt": "consent"},
    "microsoft": {"prompt": "select_account"},
}


def _normalise_address(raw: str) -> tuple[str, str]:
    """``(address, ASCII domain)``; VAL004 when it is not an address."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(
            "VAL004", "Invalid email address", details={"field": "email"}
        ) from exc
    return result.normalized.lower(), result.ascii_domain.lower()


# --- connection settings ------------------------------------------------------------------------


def _server_fields(account: MailAccount, prefix: str) -> tuple[str, int, Any, str]:
    host = getattr(account, f"{prefix}_host")
    port = getattr(account, f"{prefix}_port")
    security = getattr(account, f"{prefix}_security")
    username = getattr(account, f"{prefix}_username") or account.email
    if not host or not port or not security:
        raise ValueError(f"account {account.id} has no {prefix.upper()} server")
    return str(host), int(port), security, str(username)


def _connection(
    runtime: Runtime, account: MailAccount, prefix: str, access_token: str | None
) -> dict[str, Any]:
    """The fields IMAP and SMTP configurations share: server, login, and the password (sealed
    with the account) unless an OAuth ``access_token`` is used."""
    host, port, security, username = _server_fields(account, prefix)
    password = None if access_token else tokens.open_secret(runtime, account).get("password")
    return {
        "host": host,
        "port": port,
        "security": security,
        "username": username,
        "password": password,
        "access_token": access_token,
        "ca_file": runtime.settings.mail_ca_file,
    }


def imap_config(
    runtime: Runtime, account: MailAccount, *, access_token: str | None = None
) -> ImapConfig:
    """The account's IMAP settings with its password (or ``access_token`` for XOAUTH2)."""
    return ImapConfig(**_connection(runtime, account, "imap", access_token))


def smtp_config(
    runtime: Runtime, account: MailAccount, *, access_token: str | None = None
) -> SmtpConfig:
    """The account's SMTP settings with its password (or ``access_token`` for XOAUTH2)."""
    return SmtpConfig(**_connection(runtime, account, "smtp", access_token))


async def connection_configs(
    session: AsyncSession, runtime: Runtime, account: MailAccount
) -> tuple[ImapConfig, SmtpConfig]:
    """IMAP and SMTP settings ready to connect. OAuth accounts get a fresh access token
    (refreshed ≥5 minutes before expiry, see :func:`mailmind.account.tokens.access_token`)."""
    if tokens.uses_oauth(account):
        token = await tokens.access_token(session, runtime, account)
        return (
            imap_config(runtime, account, access_token=token),
            smtp_config(runtime, account, access_token=token),
        )
    return imap_config(runtime, account), smtp_config(runtime, account)


def sync_window(runtime: Runtime, account: MailAccount) -> tuple[int, int]:
    """``(initial_days, depth_days)`` of the account: its own or SYNC_INITIAL_DAYS and
    SYNC_DEPTH_DAYS (0 = the whole mailbox)."""
    own = account.sync_settings or {}
    initial = own.get("initial_days", runtime.settings.sync_initial_days)
    depth = own.get("depth_days", runtime.settings.sync_depth_days)
    return int(initial), int(depth)


# --- state changes ------------------------------------------------------------------------------


async def mark_auth_required(
    session: AsyncSession, runtime: Runtime, account: MailAccount, error: str
) -> None:
    """The server refused the stored credentials: state ``auth_required`` (no sync until they
    change), a ``sync_error`` notification and a ``sync_status`` error event after commit.
    Marking an account that is already ``auth_required`` only updates the error; a deleted
    (``disabled``) account stays as it is, so its purge goes ahead."""
    if account.sync_state == "disabled":
        return
    first = account.sync_state != "auth_required"
    account.sync_state = "auth_required"
    account.sync_error = error[:1000]
    notification: Notification | None = None
    if first:
        notification = Notification(
            id=uuid.uuid4(),
            user_id=account.user_id,
            type="sync_error",
            title=f"Sign-in to {account.email} failed"[:300],
            body=error[:2000],
            created_at=utcnow(),
        )
        session.add(notification)
    await session.flush()
    log.warning("mail_account_auth_required", account_id=str(account.id))
    publish_after_commit(
        session,
        runtime.store,
        account.user_id,
        "sync_status",
        {
            "account_id": str(account.id),
            "status": "error",
            "state": "auth_required",
            "phase": None,
            "folder": None,
            "progress": None,
            "processed": None,
            "total": None,
            "message": account.sync_error,
        },
    )
    if notification is not None:
        publish_after_commit(
            session,
            runtime.store,
            account.user_id,
            "notification",
            {
                "id": str(notification.id),
                "type": notification.type,
                "title": notification.title,
                "body": notification.body,
                "email_id": None,
                "created_at": isoformat(notification.created_at),
            },
        )


def _queue_of(task_name: str) -> str:
    # The queue the task is declared on, so workers limited to that queue pick it up.
    registered = job_app.tasks.get(task_name)
    return str(registered.queue) if registered is not None else "default"


async def enqueue_sync(session: AsyncSession, account: MailAccount, *, full: bool = False) -> int:
    """Queue ``mailbox.sync`` for the account in the caller's transaction; return the job id.

    At most one sync waits per account (queueing lock ``sync:{id}``): when one is already waiting
    its id is returned (made a full sync if ``full``)."""
    queueing_lock = f"sync:{account.id}"
    for _ in range(2):
        try:
            async with session.begin_nested():
                return await defer(
                    session,
                    "mailbox.sync",
                    queue=_queue_of("mailbox.sync"),
                    lock=f"account:{account.id}",
                    queueing_lock=queueing_lock,
                    account_id=str(account.id),
                    full=full,
                )
        except IntegrityError:
            waiting = await repo.waiting_job_id(session, queueing_lock)
            if waiting is not None:
                if full:
                    await repo.widen_waiting_sync(session, waiting)
                return waiting
            # The waiting job started between the insert and the look-up: queue again.
    raise ResourceError("RES003", "A sync of this account is being queued; try again")


# --- login check --------------------------------------------------------------------------------


def _require_tls(runtime: Runtime, **servers: ServerIn | None) -> None:
    if runtime.settings.allow_insecure_mail:
        return
    for name, server in servers.items():
        if server is not None and server.security == "none":
            raise ValidationFailed(
                "VAL003",
                "Mail servers must use TLS (ssl or starttls)",
                details={"field": f"{name}.security"},
            )


def _login_failure(
    code: str, server: str, config: ImapConfig | SmtpConfig, reason: str
) -> MailError:
    spec_reason = reason if reason in SPEC_REASONS else "connect"
    log.info("mail_login_check_failed", server=server, host=config.host, reason=reason)
    return MailError(
        code,
        f"The {server.upper()} server refused the connection or login",
        details={"reason": spec_reason, "host": config.host, "port": config.port},
    )


async def check_logins(imap: ImapConfig, smtp: SmtpConfig) -> None:
    """Test the IMAP login (LOGIN + LIST) and the SMTP login (EHLO + AUTH) at the same time,
    within :data:`LOGIN_CHECK_SECONDS` for both: EMAIL001 / EMAIL002 with ``details.reason``."""
    imap_task = asyncio.create_task(check_imap_login(imap))
    smtp_task = asyncio.create_task(check_smtp_login(smtp))
    _, pending = await asyncio.wait({imap_task, smtp_task}, timeout=LOGIN_CHECK_SECONDS)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    # Both outcomes are read before raising, so neither task's error is left unretrieved.
    outcomes = [None if task in pending else task.exception() for task in (imap_task, smtp_task)]
    for code, server, task, exc, config, error_type in (
        ("EMAIL001", "imap", imap_task, outcomes[0], imap, ImapError),
        ("EMAIL002", "smtp", smtp_task, outcomes[1], smtp, SmtpError),
    ):
        if task in pending:
            raise _login_failure(code, server, config, "timeout")
        if isinstance(exc, error_type):
            raise _login_failure(code, server, config, str(exc.reason))
        if exc is not None:
            raise exc


def _check_configs(
    runtime: Runtime, account: MailAccount, imap: ServerIn, smtp: ServerIn, password: str
) -> tuple[ImapConfig, SmtpConfig]:
    ca_file = runtime.settings.mail_ca_file
    timeout = LOGIN_CHECK_SECONDS
    return (
        ImapConfig(
            host=imap.host,
            port=imap.port,
            security=imap.security,
            username=imap.username or account.email,
            password=password,
            timeout=timeout,
            ca_file=ca_file,
        ),
        SmtpConfig(
            host=smtp.host,
            port=smtp.port,
            security=smtp.security,
            username=smtp.username or account.email,
            password=password,
            timeout=timeout,
            ca_file=ca_file,
        ),
    )


def _apply_servers(account: MailAccount, imap: ServerIn, smtp: ServerIn) -> None:
    account.imap_host, account.imap_port = imap.host, imap.port
    account.imap_security, account.imap_username = imap.security, imap.username or account.email
    account.smtp_host, account.smtp_port = smtp.host, smtp.port
    account.smtp_security, account.smtp_username = smtp.security, smtp.username or account.email


def _server_in(account: MailAccount, prefix: str) -> ServerIn:
    host, port, security, username = _server_fields(account, prefix)
    return ServerIn(host=host, port=port, security=security, username=username)


# --- reading ------------------------------------------------------------------------------------


def _server_read(account: MailAccount, prefix: str) -> ServerRead | None:
    if not getattr(account, f"{prefix}_host"):
        return None
    host, port, security, username = _server_fields(account, prefix)
    return ServerRead(host=host, port=port, security=security, username=username)


def _auth_method(account: MailAccount) -> Literal["password", "oauth", "none"]:
    if account.kind == "local":
        return "none"
    return "oauth" if tokens.uses_oauth(account) else "password"


async def read_accounts(
    session: AsyncSession, runtime: Runtime, accounts: Sequence[MailAccount]
) -> list[AccountRead]:
    """The API view of the accounts (never a secret)."""
    excluded = await repo.excluded_folder_ids(session, [a.id for a in accounts])
    views = []
    for account in accounts:
        initial, depth = sync_window(runtime, account)
        views.append(
            AccountRead(
                id=account.id,
                kind=account.kind,
                email=account.email,
                display_name=account.display_name,
                sync_state=account.sync_state,
                sync_error=account.sync_error,
                last_sync_at=account.last_sync_at,
                ai_enabled=account.ai_enabled,
                sync=SyncSettingsRead(
                    initial_days=initial,
                    depth_days=depth,
                    excluded_folders=excluded.get(account.id, []),
                ),
                imap=_server_read(account, "imap"),
                smtp=_server_read(account, "smtp"),
                auth=_auth_method(account),
                created_at=account.created_at,
            )
        )
    return views


async def list_accounts(session: AsyncSession, user: AuthUser) -> list[MailAccount]:
    return await repo.list_accounts(session, user.id)


async def get_owned_account(
    session: AsyncSession, user: AuthUser, account_id: uuid.UUID
) -> MailAccount:
    """The user's account; RES001 for an unknown id and for another user's account alike."""
    account = await repo.get_user_account(session, user.id, account_id)
    if account is None:
        raise ResourceError("RES001", "Account not found")
    return account


async def detect_servers(email: str) -> autodetect.Detected:
    _, domain = _normalise_address(email)
    return await autodetect.detect(domain, resolver=autodetect.default_resolver())


# --- writing ------------------------------------------------------------------------------------


async def create_account(
    session: AsyncSession, runtime: Runtime, user: AuthUser, data: AccountCreate
) -> MailAccount:
    """Check both logins, then save the account (password sealed) with its first sync queued."""
    email, _ = _normalise_address(data.email)
    _require_tls(runtime, imap=data.imap, smtp=data.smtp)
    if await repo.find_account(session, user.id, email=email, kind=data.kind) is not None:
        raise ValidationFailed(
            "VAL008", "This mailbox is already connected", details={"field": "email"}
        )
    account = MailAccount(
        id=uuid.uuid4(),
        user_id=user.id,
        kind=data.kind,
        email=email,
        display_name=data.display_name.strip(),
        sync_state="pending",
        ai_enabled=True,
        sync_settings={},
    )
    password = data.password.get_secret_value()
    await check_logins(*_check_configs(runtime, account, data.imap, data.smtp, password))
    _apply_servers(account, data.imap, data.smtp)
    tokens.seal_secret(runtime, account, {"password": password})
    session.add(account)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        # Added by a concurrent request since the check above.
        raise ValidationFailed(
            "VAL008", "This mailbox is already connected", details={"field": "email"}
        ) from exc
    await enqueue_sync(session, account)
    log.info("mail_account_created", account_id=str(account.id), kind=account.kind)
    return account


async def update_account(
    session: AsyncSession, runtime: Runtime, account: MailAccount, data: AccountUpdate
) -> MailAccount:
    """Apply the changes; new servers or a new password are checked like a new account, and
    bring an ``auth_required`` (or ``error``) account back to ``pending`` with a sync queued."""
    if account.sync_state == "disabled":
        raise ResourceError("RES002", "This account is being deleted")
    credentials_changed = (
        data.imap is not None or data.smtp is not None or data.password is not None
    )
    if credentials_changed:
        if account.kind == "local":
            raise ValidationFailed(
                "VAL003", "The local account has no mail servers", details={"field": "imap"}
            )
        if tokens.uses_oauth(account):
            raise ValidationFailed(
                "VAL003",
                "This account signs in with OAuth; connect it again instead",
                details={"field": "password" if data.password is not None else "imap"},
            )
        _require_tls(runtime, imap=data.imap, smtp=data.smtp)
        imap = data.imap or _server_in(account, "imap")
        smtp = data.smtp or _server_in(account, "smtp")
        password = (
            data.password.get_secret_value()
            if data.password is not None
            else tokens.open_secret(runtime, account).get("password", "")
        )
        await check_logins(*_check_configs(runtime, account, imap, smtp, password))
        _apply_servers(account, imap, smtp)
        if data.password is not None:
            tokens.seal_secret(runtime, account, {"password": password})
    if data.display_name is not None:
        account.display_name = data.display_name.strip()
    if data.ai_enabled is not None:
        account.ai_enabled = data.ai_enabled
    if data.sync is not None:
        settings = dict(account.sync_settings or {})
        if data.sync.initial_days is not None:
            settings["initial_days"] = data.sync.initial_days
        if data.sync.depth_days is not None:
            settings["depth_days"] = data.sync.depth_days
        account.sync_settings = settings
        if data.sync.excluded_folders is not None:
            wanted = list(dict.fromkeys(data.sync.excluded_folders))
            known = await repo.folder_ids_of_account(session, account.id, wanted)
            if len(known) != len(wanted):
                raise MailError(
                    "EMAIL007",
                    "Not a folder of this account",
                    details={
                        "field": "sync.excluded_folders",
                        "invalid": [str(f) for f in wanted if f not in known],
                    },
                )
            await repo.set_excluded_folders(session, account.id, wanted)
    requeue = credentials_changed and account.sync_state in ("auth_required", "error")
    if requeue:
        account.sync_state = "pending"
        account.sync_error = None
    await session.flush()
    if requeue:
        await enqueue_sync(session, account)
    return account


async def delete_account(session: AsyncSession, account: MailAccount) -> None:
    """Disable the account now; the ``account.purge`` job deletes it with all local data (never
    anything on the server). It runs after the account's running jobs (same lock)."""
    if account.sync_state == "disabled":
        return
    account.sync_state = "disabled"
    await session.flush()
    await defer(session, "account.purge", lock=f"account:{account.id}", account_id=str(account.id))
    log.info("mail_account_deleted", account_id=str(account.id))


async def request_sync(
    session: AsyncSession, runtime: Runtime, account: MailAccount, *, full: bool
) -> int:
    """A manual sync: RATE002 when the last one was asked for less than a minute ago."""
    if account.sync_state == "disabled":
        raise ResourceError("RES002", "This account is being deleted")
    if account.kind == "local":
        raise ValidationFailed(
            "VAL003", "The local account has no mail server to sync", details={"field": "id"}
        )
    if account.sync_state == "auth_required":
        # No sync runs until the credentials change (PRODUCT_SPEC §2.3 "Errors").
        raise ResourceError(
            "RES003",
            "The server refused the stored credentials: update the password or connect the "
            "account again",
            details={"sync_state": account.sync_state},
        )
    hits, retry_after = await runtime.store.incr_window(
        f"rl:sync:{account.id}", MANUAL_SYNC_INTERVAL
    )
    if hits > 1:
        raise RateLimited("RATE002", retry_after)
    return await enqueue_sync(session, account, full=full)


async def purge_account(session: AsyncSession, account_id: uuid.UUID) -> bool:
    return await repo.purge_account(session, account_id)


async def get_or_create_local_account(session: AsyncSession, user_id: uuid.UUID) -> MailAccount:
    """The user's ``local`` account (no servers), where imported mail lives."""
    user = await auth_repo.get_user(session, user_id)
    if user is None:
        raise ResourceError("RES001", "User not found")
    return await repo.ensure_local_account(session, user_id, user.email.lower())


# --- OAuth mailboxes ----------------------------------------------------------------------------


async def start_oauth_connect(runtime: Runtime, user: AuthUser, provider: str) -> str:
    """The provider's consent URL for mail access (PKCE; the state remembers the user)."""
    return await oauth.start_connect(
        runtime,
        provider,
        user_id=user.id,
        scope=tokens.MAIL_SCOPES[provider],
        **OAUTH_CONNECT_PARAMS[provider],
    )


async def connect_oauth_account(
    session: AsyncSession,
    runtime: Runtime,
    *,
    user_id: uuid.UUID,
    provider: str,
    token_response: dict[str, Any],
    identity: Identity,
) -> MailAccount:
    """Create or update the Gmail / Microsoft 365 account of a finished consent (tokens sealed,
    servers from the provider table) and queue its sync."""
    user = await auth_repo.get_user(session, user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise AuthError("AUTH008", "The account that started the connection is gone")
    if not identity.email:
        raise AuthError("AUTH008", "The provider did not share the mailbox address")
    if not token_response.get("refresh_token") or not token_response.get("access_token"):
        raise AuthError("AUTH008", "The provider did not grant offline mail access")
    kind = OAUTH_KIND_OF_PROVIDER[provider]
    email = identity.email.lower()
    account = await repo.find_account(session, user_id, email=email, kind=kind)
    if account is not None and account.sync_state == "disabled":
        raise ResourceError("RES003", "This mailbox is still being removed; try again shortly")
    queue = True
    if account is None:
        servers = OAUTH_PROVIDERS[kind]
        account = MailAccount(
            id=uuid.uuid4(),
            user_id=user_id,
            kind=kind,
            email=email,
            display_name=identity.name[:200],
            sync_state="pending",
            ai_enabled=True,
            sync_settings={},
            imap_host=servers.imap.host,
            imap_port=servers.imap.port,
            imap_security=servers.imap.security,
            imap_username=email,
            smtp_host=servers.smtp.host,
            smtp_port=servers.smtp.port,
            smtp_security=servers.smtp.security,
            smtp_username=email,
        )
        session.add(account)
    elif account.sync_state in ("auth_required", "error"):
        account.sync_state = "pending"
        account.sync_error = None
    else:
        queue = False
    tokens.store_tokens(runtime, account, token_response)
    await session.flush()
    if queue:
        await enqueue_sync(session, account)
    log.info("mail_account_connected", account_id=str(account.id), provider=provider)
    return account
