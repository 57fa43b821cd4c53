"""Queries on procrastinate's job table, joined with the last error we keep per job."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_SELECT = """
SELECT j.id, j.task_name, j.queue_name, j.attempts, j.status::text AS status, j.args,
       j.scheduled_at, e.error AS last_error, e.failed_at
FROM procrastinate_jobs j
LEFT JOIN job_errors e ON e.job_id = j.id
"""


async def list_jobs(
    session: AsyncSession, *, statuses: tuple[str, ...] | None, limit: int, before_id: int | None
) -> list[dict[str, Any]]:
    where = ["TRUE"]
    params: dict[str, Any] = {"limit": limit}
    if statuses:
        where.append("j.status::text = ANY(:statuses)")
        params["statuses"] = list(statuses)
    if before_id is not None:
        where.append("j.id < :before_id")
        params["before_id"] = before_id
    query = text(f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY j.id DESC LIMIT :limit")
    return [dict(row._mapping) for row in await session.execute(query, params)]


async def get_job(session: AsyncSession, job_id: int) -> dict[str, Any] | None:
    row = (await session.execute(text(f"{_SELECT} WHERE j.id = :id"), {"id": job_id})).first()
    return dict(row._mapping) if row else None


async def retry_dead_job(session: AsyncSession, job_id: int) -> bool:
    """Put a dead job back in the queue with a fresh set of retries."""
    row = (
        await session.execute(
            text("SELECT status::text FROM procrastinate_jobs WHERE id = :id FOR UPDATE"),
            {"id": job_id},
        )
    ).first()
    if row is None or row[0] != "failed":
        return False
    await session.execute(
        text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)"), {"id": job_id}
    )
    await session.execute(
        text("UPDATE procrastinate_jobs SET attempts = 0 WHERE id = :id"), {"id": job_id}
    )
    return True


async def discard_dead_job(session: AsyncSession, job_id: int) -> bool:
    result = await session.execute(
        text("DELETE FROM procrastinate_jobs WHERE id = :id AND status = 'failed' RETURNING id"),
        {"id": job_id},
    )
    if result.first() is None:
        return False
    await session.execute(text("DELETE FROM job_errors WHERE job_id = :id"), {"id": job_id})
    return True


async def job_status(session: AsyncSession, job_id: int) -> str | None:
    row = (
        await session.execute(
            text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
        )
    ).first()
    return str(row[0]) if row else None


async def count_by_queue_status(session: AsyncSession) -> list[tuple[str, str, int]]:
    """Job counts by queue and API status (queued, retrying, running, succeeded, dead, …)."""
    rows = await session.execute(
        text(
            "SELECT queue_name, CASE status::text "
            "WHEN 'todo' THEN CASE WHEN attempts > 0 THEN 'retrying' ELSE 'queued' END "
            "WHEN 'doing' THEN 'running' WHEN 'failed' THEN 'dead' "
            "WHEN 'aborted' THEN 'cancelled' ELSE status::text END AS state, count(*) "
            "FROM procrastinate_jobs GROUP BY 1, 2"
        )
    )
    return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]
