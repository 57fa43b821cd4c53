"""The procrastinate app, the task decorator, the retry policy and in-transaction enqueueing.

Task handlers take ids, reload state and are idempotent: delivery is at least once. A handler
that raises is retried with exponential backoff (``JOB_RETRY_ATTEMPTS`` retries, waits from
``JOB_RETRY_MIN_SECONDS`` doubling up to ``JOB_RETRY_MAX_SECONDS``); after the last retry the job
stays in procrastinate's ``failed`` state — "dead" in the API — with its last error in
``job_errors``, where an admin can inspect, retry or discard it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

import orjson
import procrastinate
import structlog
from procrastinate import JobContext, RetryDecision
from procrastinate.retry import BaseRetryStrategy
from procrastinate.testing import InMemoryConnector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.config import get_settings
from mailmind.kit.time import utcnow

log = structlog.get_logger(__name__)

TASK_MODULES = [
    "mailmind.auth.tasks",
    "mailmind.jobs.tasks",
    "mailmind.account.tasks",
    "mailmind.mailbox.tasks",
    "mailmind.message.tasks",
    "mailmind.imports.tasks",
    "mailmind.compose.tasks",
    "mailmind.pipeline.tasks",
]

# Tasks register on this app; workers and enqueueing bind it to PostgreSQL (`runtime_app`).
app = procrastinate.App(connector=InMemoryConnector(), import_paths=[])

P = ParamSpec("P")
R = TypeVar("R")


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help; the job goes straight to dead."""


def backoff_seconds(attempts: int, *, minimum: float, maximum: float) -> float:
    """Wait before retry number ``attempts + 1``: ``minimum`` doubling, capped at ``maximum``."""
    return float(min(maximum, minimum * (2**attempts)))


class BackoffRetry(BaseRetryStrategy):
    def get_retry_decision(
        self, *, exception: BaseException, job: procrastinate.jobs.Job
    ) -> RetryDecision | None:
        if is_final_failure(exception, job.attempts):
            return None
        settings = get_settings()
        wait = backoff_seconds(
            job.attempts,
            minimum=settings.job_retry_min_seconds,
            maximum=settings.job_retry_max_seconds,
        )
        return RetryDecision(retry_at=utcnow() + timedelta(seconds=wait))


def is_final_failure(exception: BaseException, attempts: int) -> bool:
    return isinstance(exception, PermanentJobError) or attempts >= get_settings().job_retry_attempts


def task(
    name: str, *, queue: str = "default", cron: str | None = None
) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Register ``async def handler(runtime, **args)`` as the task ``name`` (dotted).

    With ``cron`` the task also runs periodically and receives a ``timestamp`` argument.
    """

    def decorate(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def run(context: JobContext, /, **kwargs: Any) -> Any:
            runtime = context.additional_context["runtime"]
            job = context.job
            structlog.contextvars.bind_contextvars(job_id=job.id, task=name)
            try:
                return await fn(runtime, **kwargs)
            except Exception as exc:
                final = is_final_failure(exc, job.attempts)
                log.warning(
                    "job_failed",
                    attempts=job.attempts + 1,
                    final=final,
                    error=type(exc).__name__,
                )
                from mailmind.jobs.deadletter import record_failure

                await record_failure(
                    runtime,
                    job_id=job.id or 0,
                    task_name=name,
                    exc=exc,
                    attempts=job.attempts + 1,
                    final=final,
                )
                raise
            finally:
                structlog.contextvars.unbind_contextvars("job_id", "task")

        run.__name__ = run.__qualname__ = fn.__name__
        run.__module__ = fn.__module__
        run.__doc__ = fn.__doc__
        registered = app.task(name=name, queue=queue, pass_context=True, retry=BackoffRetry())(run)
        if cron:
            app.periodic(cron=cron, periodic_id=name)(registered)  # type: ignore[arg-type]
        return fn

    return decorate


def _json_default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__} into job arguments")


async def defer(
    session: AsyncSession,
    task_name: str,
    *,
    queue: str = "default",
    lock: str | None = None,
    queueing_lock: str | None = None,
    priority: int = 0,
    scheduled_at: datetime | None = None,
    **args: Any,
) -> int:
    """Enqueue a job inside the caller's transaction: it exists exactly when the caller commits.

    ``lock`` serialises jobs that share it (e.g. per-account FIFO); ``queueing_lock`` keeps at most
    one waiting job for the key.
    """
    if task_name not in app.tasks:
        raise ValueError(f"unknown task {task_name!r}")
    result = await session.execute(
        text(
            "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, :priority, :lock, "
            ":qlock, CAST(:args AS jsonb), :scheduled_at)::procrastinate_job_to_defer_v1])"
        ),
        {
            "queue": queue,
            "task": task_name,
            "priority": priority,
            "lock": lock,
            "qlock": queueing_lock,
            "args": orjson.dumps(args, default=_json_default).decode(),
            "scheduled_at": scheduled_at,
        },
    )
    ids = result.scalar_one()
    return int(ids[0])


def load_tasks() -> None:
    import importlib

    for module in TASK_MODULES:
        importlib.import_module(module)


def runtime_app(database_url: str) -> procrastinate.App:
    """The registered tasks bound to a real PostgreSQL connector."""
    load_tasks()
    from mailmind.db import libpq_url

    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url), min_size=1, max_size=4
    )
    # The tasks keep a reference to the app they were registered on, and the periodic deferrer
    # defers cron jobs through it: the connector is set on that app itself (a copy made with
    # ``with_connector`` would leave cron jobs in the in-memory connector, never run).
    app.connector = connector
    app.job_manager.connector = connector
    return app


async def run_worker(runtime: Any, *, install_signal_handlers: bool = True) -> None:
    """Process jobs until cancelled (or SIGINT/SIGTERM when ``install_signal_handlers``), and
    watch the mail accounts this worker holds the lease of (IDLE + polling)."""
    from mailmind.mailbox.supervisor import SyncSupervisor

    worker_app = runtime_app(runtime.db.url)
    async with worker_app.open_async():
        log.info("worker_started", concurrency=runtime.settings.worker_concurrency)
        watcher = asyncio.create_task(SyncSupervisor(runtime).run(), name="sync-supervisor")
        from mailmind.pipeline.tasks import watch_stalled

        # Pipeline jobs of a worker that died (SIGKILL, OOM) go back to the queue.
        stalled = asyncio.create_task(watch_stalled(runtime), name="pipeline-stalled")
        try:
            await worker_app.run_worker_async(
                concurrency=runtime.settings.worker_concurrency,
                additional_context={"runtime": runtime},
                install_signal_handlers=install_signal_handlers,
                delete_jobs="successful",
                shutdown_graceful_timeout=20,
            )
        finally:
            stalled.cancel()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stalled
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
