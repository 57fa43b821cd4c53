"""Account jobs: purging a deleted account's local data."""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from mailmind.account import service
from mailmind.jobs.queue import task

log = structlog.get_logger(__name__)


@task("account.purge")
async def purge_account(runtime: Any, *, account_id: str) -> None:
    """Delete a disabled account with its folders, messages, threads, attachments and AI results
    (database cascades). Nothing on the mail server is touched. Idempotent: a purged or
    re-enabled account is left alone."""
    async with runtime.db.session() as session:
        purged = await service.purge_account(session, uuid.UUID(account_id))
    log.info("mail_account_purged", account_id=account_id, purged=purged)
