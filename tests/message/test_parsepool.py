"""Parsing in a pool process gives what parsing in-process gives."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailmind.message import parsepool

SAMPLES = Path(__file__).parent / "samples"


async def test_pool_parses_like_the_parser_once_started():
    raws = [p.read_bytes() for p in sorted(SAMPLES.glob("*.eml"))]
    assert len(raws) >= parsepool.MIN_BATCH
    parsepool.shutdown()  # a pool another test started would already be up
    try:
        # The first call starts the process and leaves the batch to the caller.
        assert await parsepool.prepare_batch(raws, processes=1) is None
        for _ in range(300):
            pooled = await parsepool.prepare_batch(raws, processes=1)
            if pooled is not None:
                break
            await asyncio.sleep(0.1)
        assert pooled == [parsepool.prepare_one(raw) for raw in raws]
    finally:
        parsepool.shutdown()


async def test_small_batches_and_no_processes_stay_in_process():
    raws = [b"Subject: x\r\n\r\nbody\r\n"] * 3
    assert await parsepool.prepare_batch(raws, processes=1) is None
    assert await parsepool.prepare_batch(raws * 3, processes=0) is None


def test_auto_picks_one_process_on_a_second_core(monkeypatch):
    monkeypatch.setattr(parsepool.os, "cpu_count", lambda: 2)
    assert parsepool.processes_for(-1) == 1
    monkeypatch.setattr(parsepool.os, "cpu_count", lambda: 1)
    assert parsepool.processes_for(-1) == 0
    assert parsepool.processes_for(3) == 3
