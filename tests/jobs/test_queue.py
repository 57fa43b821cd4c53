"""The job queue: enqueue in the caller's transaction, retries, dead letters and admin actions."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from mailmind.jobs.queue import PermanentJobError, backoff_seconds, defer, task
from mailmind.models import Notification
from tests.conftest import assert_error, bearer, create_user, drain_jobs, login

STATE = {"fail": True, "runs": 0, "permanent": False}


@task("tests.flaky")
async def flaky(runtime, *, note: str) -> None:
    STATE["runs"] += 1
    if STATE["permanent"]:
        raise PermanentJobError("cannot ever work")
    if STATE["fail"]:
        raise RuntimeError(f"flaky failure {note}")


@pytest.fixture(autouse=True)
def _reset_state():
    STATE.update(fail=True, runs=0, permanent=False)


async def job_rows(runtime) -> list[dict]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            text(
                "SELECT id, task_name, status::text AS status, attempts, args FROM procrastinate_jobs"
            )
        )
        return [dict(r._mapping) for r in rows]


def test_backoff_doubles_from_four_seconds_up_to_a_minute():
    waits = [backoff_seconds(n, minimum=4, maximum=60) for n in range(6)]
    assert waits == [4, 8, 16, 32, 60, 60]


async def test_enqueue_belongs_to_the_callers_transaction(runtime):
    with pytest.raises(RuntimeError):
        async with runtime.db.session() as session:
            await defer(session, "tests.flaky", note="rolled back")
            raise RuntimeError("the caller fails after enqueueing")
    assert await job_rows(runtime) == []
    async with runtime.db.session() as session:
        job_id = await defer(session, "tests.flaky", note="kept", lock="account-1")
    [row] = await job_rows(runtime)
    assert row["id"] == job_id and row["args"] == {"note": "kept"} and row["status"] == "todo"


async def test_unknown_task_is_refused_before_anything_is_written(runtime):
    async with runtime.db.session() as session:
        with pytest.raises(ValueError, match="unknown task"):
            await defer(session, "tests.no-such-task")


async def test_failing_job_is_retried_three_times_then_dead_and_admins_alerted(runtime):
    admin = await create_user(runtime, admin=True)
    async with runtime.db.session() as session:
        job_id = await defer(session, "tests.flaky", note="x1")
    await drain_jobs(runtime)
    assert STATE["runs"] == 4  # the first run and three retries
    [row] = await job_rows(runtime)
    assert row["status"] == "failed"
    async with runtime.db.session() as session:
        error = (
            await session.execute(
                text("SELECT error, attempts FROM job_errors WHERE job_id = :id"), {"id": job_id}
            )
        ).one()
        alerts = list(
            (
                await session.execute(select(Notification).where(Notification.user_id == admin.id))
            ).scalars()
        )
    assert error.error == "RuntimeError: flaky failure x1"
    assert error.attempts == 4
    assert [a.type for a in alerts] == ["system_alert"]


async def test_permanent_failure_is_dead_after_one_run(runtime):
    STATE["permanent"] = True
    async with runtime.db.session() as session:
        await defer(session, "tests.flaky", note="p")
    await drain_jobs(runtime)
    assert STATE["runs"] == 1
    assert (await job_rows(runtime))[0]["status"] == "failed"


async def test_admin_sees_dead_jobs_and_a_retry_runs_them(client, runtime):
    admin = await create_user(runtime, admin=True)
    token = (await login(client, admin.email))["access_token"]
    async with runtime.db.session() as session:
        job_id = await defer(session, "tests.flaky", note="retry-me")
    await drain_jobs(runtime)

    listed = await client.get("/api/admin/jobs?status=dead", headers=bearer(token))
    assert listed.status_code == 200
    [job] = listed.json()["items"]
    assert job["id"] == job_id and job["task"] == "tests.flaky" and job["status"] == "dead"
    assert job["last_error"] == "RuntimeError: flaky failure retry-me"
    assert job["attempts"] == 4 and job["failed_at"]

    STATE["fail"] = False
    retry = await client.post(f"/api/admin/jobs/{job_id}/retry", headers=bearer(token))
    assert retry.status_code == 202
    await drain_jobs(runtime)
    assert STATE["runs"] == 5
    assert (await job_rows(runtime))[0]["status"] == "succeeded"
    empty = await client.get("/api/admin/jobs?status=dead", headers=bearer(token))
    assert empty.json()["items"] == []
    again = await client.post(f"/api/admin/jobs/{job_id}/retry", headers=bearer(token))
    assert_error(again, 409, "RES003")


async def test_bulk_retry_and_discard(client, runtime):
    admin = await create_user(runtime, admin=True)
    token = (await login(client, admin.email))["access_token"]
    async with runtime.db.session() as session:
        first = await defer(session, "tests.flaky", note="a")
        second = await defer(session, "tests.flaky", note="b")
    await drain_jobs(runtime)
    discard = await client.delete(f"/api/admin/jobs/{first}", headers=bearer(token))
    assert discard.status_code == 204
    assert_error(
        await client.delete(f"/api/admin/jobs/{first}", headers=bearer(token)), 404, "RES001"
    )
    bulk = await client.post(
        "/api/admin/jobs/retry", headers=bearer(token), json={"ids": [second, first, 999999]}
    )
    assert bulk.json() == {"retried": [second], "not_found": [first, 999999]}


async def test_jobs_are_admin_only_and_status_is_validated(client, runtime):
    admin = await create_user(runtime, admin=True)
    user = await create_user(runtime)
    user_token = (await login(client, user.email))["access_token"]
    admin_token = (await login(client, admin.email))["access_token"]
    assert_error(await client.get("/api/admin/jobs", headers=bearer(user_token)), 403, "AUTH004")
    assert_error(
        await client.get("/api/admin/jobs?status=zombie", headers=bearer(admin_token)),
        400,
        "VAL002",
    )
    assert_error(
        await client.post("/api/admin/jobs/0/retry", headers=bearer(admin_token)), 400, "VAL003"
    )
