"""Jobs of the sync engine."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import update

from mailmind.integrations.imap import ImapError
from mailmind.jobs.queue import task
from mailmind.mailbox.sync import AccountSync, AccountUnavailable, account_lock
from mailmind.models import MailAccount

log = structlog.get_logger(__name__)


@task("mailbox.sync", queue="sync")
async def sync_account(runtime: Any, *, account_id: str, full: bool = False) -> None:
    """One complete pass over an account: the initial sync of a new account, a manual sync.

    A connection failure is retried with backoff (the job queue's policy); until a pass succeeds
    the account shows ``error`` with the reason. A refused login ends at ``auth_required``."""
    ident = uuid.UUID(account_id)
    async with account_lock(runtime, ident, wait=True):
        try:
            result = await AccountSync(runtime, ident).run(full=full)
        except AccountUnavailable:
            return
        except ImapError as exc:
            async with runtime.db.session() as session:
                await session.execute(
                    update(MailAccount)
                    .where(
                        MailAccount.id == ident,
                        MailAccount.sync_state.not_in(("auth_required", "disabled")),
                    )
                    .values(sync_state="error", sync_error=f"{exc.reason}: {exc}"[:1000])
                )
                await session.commit()
            raise
    log.info("sync_pass_done", stored=result.stored, updated=result.updated, removed=result.removed)
