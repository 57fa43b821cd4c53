"""Pipeline jobs of a dead worker go back to the queue."""

from __future__ import annotations

from sqlalchemy import text

from mailmind.pipeline.tasks import retry_stalled
from mailmind.runtime import Runtime
from tests.pipeline.helpers import ingest, mail, make_account, make_folder


async def _job(runtime: Runtime) -> tuple[str, int]:
    async with runtime.db.session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT status::text, attempts FROM procrastinate_jobs "
                    "WHERE task_name = 'pipeline.process'"
                )
            )
        ).one()
        return row[0], row[1]


async def _take(runtime: Runtime, heartbeat_age: str) -> None:
    """What a worker does when it fetches the job, then stops beating for ``heartbeat_age``."""
    async with runtime.db.session() as session:
        worker = await session.scalar(text("SELECT procrastinate_register_worker_v1()"))
        await session.execute(
            text(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - CAST(:age AS interval)"
            ),
            {"age": heartbeat_age},
        )
        await session.execute(
            text(
                "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w "
                "WHERE task_name = 'pipeline.process'"
            ),
            {"w": worker},
        )


async def test_a_job_of_a_dead_worker_is_requeued(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    await ingest(runtime, account, inbox, [mail("Hello", "Hi")])
    await _take(runtime, "5 minutes")

    assert len(await retry_stalled(runtime)) == 1

    assert await _job(runtime) == ("todo", 1)


async def test_a_job_of_a_live_worker_is_left_alone(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    await ingest(runtime, account, inbox, [mail("Hello", "Hi")])
    await _take(runtime, "1 second")

    assert await retry_stalled(runtime) == []

    assert await _job(runtime) == ("doing", 0)
