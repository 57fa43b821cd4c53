"""A worker killed with SIGKILL in the middle of a batch loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select, text

from mailmind.models import AIResult, Message, MessageChunk
from mailmind.runtime import Runtime
from tests.live import LiveProcess, cli_env
from tests.pipeline.helpers import ingest, mail, make_account, make_folder
from tests.services import RedisServer

BODY = (
    "Dear team, please find the revised budget for the spring campaign below. We moved part "
    "of the print spend to online ads and need your sign-off by Thursday. "
) * 10


async def _statuses(runtime: Runtime) -> dict[str, int]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(Message.ai_status, func.count()).group_by(Message.ai_status)
        )
        return {status: n for status, n in rows}


async def _wait_for(
    runtime: Runtime, check: Callable[[dict[str, int]], bool], seconds: float, proc: LiveProcess
) -> None:
    deadline = time.monotonic() + seconds
    while not check(await _statuses(runtime)):
        if proc.process.poll() is not None:
            raise AssertionError(f"the worker exited\n{proc.log()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {await _statuses(runtime)}\n{proc.log()}")
        await asyncio.sleep(0.05)


async def test_sigkill_mid_batch_then_restart_gives_one_result_per_feature(
    runtime: Runtime, pg_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    ids: list[uuid.UUID] = []
    for batch in range(3):
        raws = [
            mail(f"Budget revision {batch}-{n}", BODY + f" Ref {batch}-{n}.") for n in range(15)
        ]
        ids += await ingest(runtime, account, inbox, raws)
    assert len(ids) == 45

    env = cli_env(
        tmp_path / "data",
        DATABASE_URL=pg_url,
        REDIS_URL=f"redis://127.0.0.1:{redis_server.port}/0",
        REDIS_PASSWORD=redis_server.password,
    )
    first = LiveProcess(["worker"], env, tmp_path / "first", port=0)
    try:
        # The first batch is being computed (its status was committed, its results were not).
        await _wait_for(runtime, lambda s: s.get("processing", 0) > 0, 120, first)
        first.process.send_signal(signal.SIGKILL)
        assert first.process.wait(10) == -signal.SIGKILL
    finally:
        first.kill()

    statuses = await _statuses(runtime)
    assert statuses.get("processing", 0) > 0 and statuses.get("done", 0) < 45, statuses
    async with runtime.db.session() as session:
        doing = await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs "
                "WHERE task_name = 'pipeline.process' AND status = 'doing'"
            )
        )
        assert doing == 1

    second = LiveProcess(["worker"], env, tmp_path / "second", port=0)
    try:
        # The dead worker's job is put back once its heartbeat is stale, then everything runs.
        await _wait_for(runtime, lambda s: s.get("done", 0) == 45, 300, second)
        assert second.stop(signal.SIGTERM, 30) == 0
    finally:
        second.kill()

    async with runtime.db.session() as session:
        per_feature = (
            await session.execute(
                select(AIResult.message_id, AIResult.feature, func.count()).group_by(
                    AIResult.message_id, AIResult.feature
                )
            )
        ).all()
        assert all(n == 1 for _, _, n in per_feature)
        features: dict[uuid.UUID, set[str]] = {}
        for mid, feature, _ in per_feature:
            features.setdefault(mid, set()).add(feature)
        assert set(features) == set(ids)
        expected = features[ids[0]]
        assert {"classify", "priority", "tags"} <= expected
        assert all(f == expected for f in features.values())
        chunk_sets = (
            await session.execute(
                select(
                    MessageChunk.message_id, func.count(), func.max(MessageChunk.chunk_index)
                ).group_by(MessageChunk.message_id)
            )
        ).all()
        assert len(chunk_sets) == 45 and all(n == top + 1 for _, n, top in chunk_sets)
        left = await session.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs "
                "WHERE task_name = 'pipeline.process' AND status IN ('todo', 'doing')"
            )
        )
        assert left == 0
