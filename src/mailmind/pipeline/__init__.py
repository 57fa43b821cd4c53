"""The AI pipeline: named steps run by a job per batch of new messages.

:func:`enqueue` is how mail enters it: ingest calls it in its own transaction, so a stored
message always has its processing job.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

# Messages per job: ingest stores at most 50 per batch, and one job's results commit together.
MAX_BATCH = 50


async def enqueue(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    message_ids: Sequence[uuid.UUID],
    backfill: bool = False,
) -> list[int]:
    """Defer ``"pipeline.process"`` for ``message_ids`` inside the caller's transaction.

    Jobs of one account share the lock ``pipeline:{account_id}`` and so run in order, one at a
    time. ``backfill`` (imported or backfilled mail) skips summaries and reply suggestions.
    Returns the job ids (one per 50 messages).
    """
    from mailmind.jobs.queue import defer
    from mailmind.pipeline import tasks  # noqa: F401  (registers the task)

    jobs = []
    ids = [str(i) for i in message_ids]
    for start in range(0, len(ids), MAX_BATCH):
        jobs.append(
            await defer(
                session,
                "pipeline.process",
                lock=f"pipeline:{account_id}",
                account_id=str(account_id),
                message_ids=ids[start : start + MAX_BATCH],
                backfill=backfill,
            )
        )
    return jobs
