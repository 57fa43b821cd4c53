"""Jobs of the AI pipeline."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from sqlalchemy import text

from mailmind.jobs.queue import task

log = structlog.get_logger(__name__)

# A worker that sends no heartbeat for this long is dead (procrastinate beats every 10 s).
STALLED_AFTER_SECONDS = 30
RETRY_STALLED_EVERY_SECONDS = 15.0


@task("pipeline.process")
async def process(
    runtime: Any, *, account_id: str, message_ids: list[str], backfill: bool = False
) -> None:
    """Run the pipeline for a batch of one account's messages and store the results."""
    from mailmind.pipeline.runner import process_batch

    await process_batch(
        runtime,
        account_id=uuid.UUID(account_id),
        message_ids=[uuid.UUID(i) for i in message_ids],
        backfill=backfill,
    )


async def retry_stalled(runtime: Any) -> list[int]:
    """Put pipeline jobs of dead workers (killed, out of memory) back in the queue.

    A job whose worker died stays "doing" with no one to finish it, and its lock holds back the
    account's later batches; its results were never committed (one transaction per batch), so
    running it again loses and duplicates nothing. Returns the ids of the requeued jobs.
    """
    async with runtime.db.session() as session:
        await session.execute(
            text("SELECT procrastinate_prune_stalled_workers_v1(:seconds)"),
            {"seconds": STALLED_AFTER_SECONDS},
        )
        rows = await session.execute(
            text(
                "SELECT job.id FROM procrastinate_jobs job "
                "LEFT JOIN procrastinate_workers w ON w.id = job.worker_id "
                "WHERE job.status = 'doing' AND job.task_name = 'pipeline.process' "
                "AND (job.worker_id IS NULL OR w.last_heartbeat < now() - make_interval("
                "secs => :seconds)) "
                "FOR UPDATE OF job SKIP LOCKED"
            ),
            {"seconds": STALLED_AFTER_SECONDS},
        )
        stalled = [row[0] for row in rows]
        for job_id in stalled:
            await session.execute(
                text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)"),
                {"id": job_id},
            )
    if stalled:
        log.warning("pipeline_jobs_requeued", jobs=stalled)
    return stalled


async def watch_stalled(runtime: Any, *, interval: float = RETRY_STALLED_EVERY_SECONDS) -> None:
    """Run :func:`retry_stalled` every ``interval`` seconds until cancelled (in each worker)."""
    while True:
        try:
            await retry_stalled(runtime)
        except Exception:
            log.exception("pipeline_retry_stalled_failed")
        await asyncio.sleep(interval)
