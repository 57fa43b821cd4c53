"""Watch every IMAP account from exactly one worker: IDLE on INBOX, polling for the rest.

Workers claim accounts through leases in ``sync_leases`` and renew them every few seconds; a lease
not renewed within ``LEASE_SECONDS`` (the worker died or lost its database) is taken over by
another worker on its next round, so an account is never watched twice and never left alone for
long.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import text

from mailmind.integrations.imap import ImapError
from mailmind.mailbox.sync import AccountSync, AccountUnavailable, account_lock

if TYPE_CHECKING:
    from mailmind.runtime import Runtime

log = structlog.get_logger(__name__)

LEASE_SECONDS = 30
RENEW_SECONDS = 10
# RFC 2177: servers may drop an IDLE after 30 minutes; renew well before.
IDLE_RENEW_SECONDS = 25 * 60
BACKOFF_START = 5.0
BACKOFF_MAX = 300.0
PENDING_RETRY_SECONDS = 5.0


class SyncSupervisor:
    """Claims, renews and watches accounts until cancelled."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        owner: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
        capacity: int = 500,
    ) -> None:
        self.runtime = runtime
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = lease_seconds
        self.renew_seconds = renew_seconds
        self.capacity = capacity
        self.watchers: dict[uuid.UUID, asyncio.Task[None]] = {}

    async def run(self) -> None:
        log.info("sync_supervisor_started", owner=self.owner)
        try:
            while True:
                try:
                    owned = await self.claim()
                    self._reconcile(owned)
                except Exception:
                    log.exception("sync_supervisor_round_failed")
                await asyncio.sleep(self.renew_seconds)
        finally:
            for task in self.watchers.values():
                task.cancel()
            for task in self.watchers.values():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await self.release()

    async def claim(self) -> set[uuid.UUID]:
        """Renew our leases, drop those of accounts that must not sync, and take free ones."""
        interval = f"{self.lease_seconds} seconds"
        async with self.runtime.db.session() as session:
            await session.execute(
                text(
                    "DELETE FROM sync_leases l USING mail_accounts a WHERE l.account_id = a.id "
                    "AND l.owner = :me AND (a.sync_state IN ('auth_required', 'disabled') "
                    "OR a.kind = 'local')"
                ),
                {"me": self.owner},
            )
            renewed = await session.scalars(
                text(
                    "UPDATE sync_leases SET expires_at = now() + CAST(:i AS interval) "
                    "WHERE owner = :me RETURNING account_id"
                ),
                {"me": self.owner, "i": interval},
            )
            owned = set(renewed)
            room = self.capacity - len(owned)
            if room > 0:
                claimed = await session.scalars(
                    text(
                        "INSERT INTO sync_leases (account_id, owner, expires_at) "
                        "SELECT a.id, :me, now() + CAST(:i AS interval) FROM mail_accounts a "
                        "WHERE a.kind <> 'local' "
                        "AND a.sync_state NOT IN ('auth_required', 'disabled') "
                        "AND NOT EXISTS (SELECT 1 FROM sync_leases l WHERE l.account_id = a.id "
                        "AND l.expires_at > now()) ORDER BY a.created_at LIMIT :room "
                        "ON CONFLICT (account_id) DO UPDATE SET owner = EXCLUDED.owner, "
                        "expires_at = EXCLUDED.expires_at, acquired_at = now() "
                        "WHERE sync_leases.expires_at <= now() RETURNING account_id"
                    ),
                    {"me": self.owner, "i": interval, "room": room},
                )
                owned |= set(claimed)
            await session.commit()
        return owned

    async def release(self) -> None:
        async with self.runtime.db.session() as session:
            await session.execute(
                text("DELETE FROM sync_leases WHERE owner = :me"), {"me": self.owner}
            )
            await session.commit()

    def _reconcile(self, owned: set[uuid.UUID]) -> None:
        for account_id, task in list(self.watchers.items()):
            if account_id not in owned or task.done():
                task.cancel()
                del self.watchers[account_id]
        for account_id in owned - set(self.watchers):
            self.watchers[account_id] = asyncio.create_task(
                watch_account(self.runtime, account_id), name=f"watch:{account_id}"
            )


async def watch_account(runtime: Runtime, account_id: uuid.UUID) -> None:
    """Keep one account current: a pass, then IDLE on INBOX, a pass over INBOX on every change
    and over everything every SYNC_POLL_INTERVAL; reconnect with backoff on errors."""
    from mailmind.integrations.imap import open_imap

    sync = AccountSync(runtime, account_id)
    poll = runtime.settings.sync_poll_interval
    backoff = BACKOFF_START
    bound = structlog.get_logger(__name__).bind(account_id=str(account_id))
    while True:
        try:
            config = await sync.imap_config()
            async with open_imap(config) as conn:
                pending_full = not await _pass(runtime, sync, conn, folders=None)
                last_full = time.monotonic()
                pending_inbox = False
                backoff = BACKOFF_START
                while True:
                    inbox = await _inbox(sync)
                    if inbox is None:
                        await asyncio.sleep(poll)
                        pending_full = True
                    else:
                        await conn.select(inbox, readonly=True)
                        wait = poll - (time.monotonic() - last_full)
                        if pending_full or pending_inbox:
                            wait = PENDING_RETRY_SECONDS
                        wait = max(1.0, min(wait, IDLE_RENEW_SECONDS))
                        if await conn.idle(wait):
                            pending_inbox = True
                    if pending_full or time.monotonic() - last_full >= poll:
                        if await _pass(runtime, sync, conn, folders=None):
                            pending_full = pending_inbox = False
                            last_full = time.monotonic()
                        else:
                            pending_full = True
                    elif pending_inbox and inbox is not None:
                        pending_inbox = not await _pass(runtime, sync, conn, folders=[inbox])
        except AccountUnavailable:
            bound.info("sync_watch_stopped")
            return
        except asyncio.CancelledError:
            raise
        except ImapError as exc:
            if exc.reason == "auth":
                with contextlib.suppress(AccountUnavailable):
                    await sync.auth_failed(str(exc))
                bound.info("sync_auth_required")
                return
            bound.warning("sync_connection_lost", reason=exc.reason, error=str(exc))
        except Exception:
            bound.exception("sync_watch_failed")
        await asyncio.sleep(backoff * random.uniform(0.8, 1.2))  # noqa: S311 - jitter
        backoff = min(backoff * 2, BACKOFF_MAX)


async def _pass(
    runtime: Runtime, sync: AccountSync, conn: Any, *, folders: list[str] | None
) -> bool:
    """One pass unless another one (a manual sync job) holds the account; whether it ran."""
    async with account_lock(runtime, sync.account_id, wait=False) as acquired:
        if not acquired:
            return False
        await sync.run_on(conn, folders=folders)
        return True


async def _inbox(sync: AccountSync) -> str | None:
    folders = await sync.folders_to_sync(None)
    return next((f.path for f in folders if f.role == "inbox"), None)
