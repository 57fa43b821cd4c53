"""Admin operations on dead jobs."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.admin import repository as repo
from mailmind.admin.schemas import JobRead
from mailmind.errors import ResourceError, ValidationFailed, not_found
from mailmind.jobs.deadletter import STATUS_TO_PROCRASTINATE, api_status


def _job_read(row: dict[str, object]) -> JobRead:
    status = str(row["status"])
    attempts = int(str(row["attempts"]))
    return JobRead(
        id=int(str(row["id"])),
        task=str(row["task_name"]),
        queue=str(row["queue_name"]),
        attempts=attempts,
        status=api_status(status, attempts),
        args=row["args"] if isinstance(row["args"], dict) else {},
        last_error=row["last_error"],
        failed_at=row["failed_at"],
        scheduled_at=row["scheduled_at"],
    )


def _safe_args(job: JobRead) -> JobRead:
    # Job arguments can carry sealed tokens; an admin sees their names, not their values.
    job.args = {key: ("[sealed]" if "token" in key else value) for key, value in job.args.items()}
    return job


async def list_jobs(
    session: AsyncSession, *, status: str | None, limit: int, before_id: int | None
) -> list[JobRead]:
    if status is not None and status not in STATUS_TO_PROCRASTINATE:
        raise ValidationFailed(
            "VAL002",
            "Unknown job status",
            details={"field": "status", "allowed": sorted(STATUS_TO_PROCRASTINATE)},
        )
    statuses = STATUS_TO_PROCRASTINATE[status] if status else None
    rows = await repo.list_jobs(session, statuses=statuses, limit=limit, before_id=before_id)
    jobs = [_safe_args(_job_read(row)) for row in rows]
    if status in {"queued", "retrying"}:
        jobs = [job for job in jobs if job.status == status]
    return jobs


async def retry_job(session: AsyncSession, *, job_id: int) -> None:
    if await repo.job_status(session, job_id) is None:
        raise not_found("job")
    if not await repo.retry_dead_job(session, job_id):
        raise ResourceError("RES003", "Only dead jobs can be retried")


async def retry_jobs(session: AsyncSession, *, ids: list[int]) -> tuple[list[int], list[int]]:
    retried: list[int] = []
    missing: list[int] = []
    for job_id in dict.fromkeys(ids):
        (retried if await repo.retry_dead_job(session, job_id) else missing).append(job_id)
    return retried, missing


async def discard_job(session: AsyncSession, *, job_id: int) -> None:
    if await repo.job_status(session, job_id) is None:
        raise not_found("job")
    if not await repo.discard_dead_job(session, job_id):
        raise ResourceError("RES003", "Only dead jobs can be discarded")
