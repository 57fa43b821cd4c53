"""Cron tasks are deferred into PostgreSQL by a running worker, and run there."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import text

from mailmind.jobs.queue import run_worker


async def test_a_running_worker_defers_the_cron_jobs_into_postgresql(runtime):
    worker = asyncio.create_task(run_worker(runtime, install_signal_handlers=False))
    try:
        for _ in range(150):
            async with runtime.db.session() as session:
                deferred = set(
                    await session.scalars(
                        text("SELECT DISTINCT task_name FROM procrastinate_periodic_defers")
                    )
                )
            if "message.wake_snoozed" in deferred:
                break
            await asyncio.sleep(0.2)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    # Every minute's job is due at once: the worker defers it on start.
    assert "message.wake_snoozed" in deferred
