"""Sending jobs: ``compose.send`` (one message, at most once), ``compose.append_sent`` (the
server's Sent copy) and the hourly purge of unused uploads."""

from __future__ import annotations

import uuid
from datetime import datetime

from mailmind.compose import service
from mailmind.jobs.queue import task
from mailmind.runtime import Runtime


@task(service.SEND_TASK)
async def send(
    runtime: Runtime, *, message_id: str, send_at: str | None = None, attempt: int = 0
) -> None:
    """Send a queued message, or a scheduled one when due. ``send_at`` is the time the job was
    scheduled for: when the message was rescheduled or cancelled since, the job does nothing."""
    await service.deliver(
        runtime,
        message_id=uuid.UUID(message_id),
        send_at=datetime.fromisoformat(send_at) if send_at else None,
        attempt=attempt,
    )


@task(service.APPEND_TASK)
async def append_sent(runtime: Runtime, *, message_id: str) -> None:
    await service.append_sent_copy(runtime, uuid.UUID(message_id))


@task("compose.purge_uploads", cron="41 * * * *")
async def purge_uploads(runtime: Runtime, *, timestamp: int | None = None) -> None:
    """Delete uploads that no message used within 24 hours."""
    async with runtime.db.session() as session:
        await service.purge_unused_uploads(session)
