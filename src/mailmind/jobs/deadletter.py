"""Dead jobs: their last error, the admin's view of them, retry and discard."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from mailmind.models import JobError, Notification, User

log = structlog.get_logger(__name__)

# API job states (PRODUCT_SPEC §7) and procrastinate's statuses.
STATUS_TO_PROCRASTINATE = {
    "queued": ("todo",),
    "retrying": ("todo",),
    "running": ("doing",),
    "succeeded": ("succeeded",),
    "dead": ("failed",),
    "cancelled": ("cancelled", "aborted"),
}


def api_status(status: str, attempts: int) -> str:
    if status == "todo":
        return "retrying" if attempts > 0 else "queued"
    return {
        "doing": "running",
        "succeeded": "succeeded",
        "failed": "dead",
        "cancelled": "cancelled",
        "aborted": "cancelled",
    }.get(status, status)


def describe_error(exc: BaseException) -> str:
    """What an admin sees: the error class and message, never a traceback."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}"[:2000] if message else type(exc).__name__


async def record_failure(
    runtime: Any, *, job_id: int, task_name: str, exc: BaseException, attempts: int, final: bool
) -> None:
    """Keep the last error of a job (its own transaction: the handler's has rolled back)."""
    try:
        async with runtime.db.session() as session:
            stmt = insert(JobError).values(
                job_id=job_id, task_name=task_name, error=describe_error(exc), attempts=attempts
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[JobError.job_id],
                set_={
                    "error": stmt.excluded.error,
                    "attempts": stmt.excluded.attempts,
                    "failed_at": text("now()"),
                },
            )
            await session.execute(stmt)
            if final:
                admins = (
                    await session.execute(select(User.id).where(User.is_admin, User.is_active))
                ).scalars()
                for admin_id in admins:
                    session.add(
                        Notification(
                            user_id=admin_id,
                            type="system_alert",
                            title="A background job failed for good",
                            body=f"{task_name} (job {job_id}) failed after {attempts} attempts.",
                        )
                    )
    except Exception:  # pragma: no cover - recording must never hide the real failure
        log.exception("job_failure_not_recorded", job_id=job_id)
