"""MIME parsing in other processes.

Parsing is pure-Python CPU work (the ``email`` package, the sanitiser), about as long per
message as storing it. In a process of its own it runs while the sync fetches the next batch and
writes the previous one, instead of taking turns with them on the event loop's core. The other
per-message work that needs only the raw bytes (separating the new text from quotes, compressing
the source) goes with it.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import multiprocessing
import os
import threading
import zlib
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import structlog

from mailmind.message.parse import ParsedMessage, parse_message
from mailmind.message.quotes import split_reply

log = structlog.get_logger(__name__)

# Below this many messages a batch is parsed in-process: the round trip costs more.
MIN_BATCH = 4

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
# Done once the pool's process has started (spawning takes seconds under load): until then
# batches are parsed in-process, so the first messages of a new account are not held up.
_ready: Future[None] | None = None


def _started() -> None:
    """Runs in the pool process once: importing the parser is the slow part of starting."""


def parse_one(raw: bytes) -> ParsedMessage:
    """:func:`parse_message`, with a last line of defence: a parser bug still yields a message
    (identified by its hash, with the error) instead of stopping a sync."""
    try:
        return parse_message(raw)
    except Exception as exc:
        log.exception("parse_failed")
        return ParsedMessage(
            size=len(raw),
            raw_sha256=hashlib.sha256(raw).hexdigest(),
            parse_error=f"{type(exc).__name__}: {exc}"[:500],
        )


@dataclass
class PreparedMessage:
    """A parsed message and what storing it needs besides: ``new_text``, the text without
    quoted replies and signature (the whole text when nothing else is left), and ``raw_zlib``,
    the raw source compressed for ``message_sources``."""

    parsed: ParsedMessage
    new_text: str
    raw_zlib: bytes


def prepare_one(raw: bytes) -> PreparedMessage:
    parsed = parse_one(raw)
    reply = split_reply(parsed.body_text)
    new_text = reply.new_text if reply.new_text.strip() else parsed.body_text
    # Level 3: half the time of the default 6 on mail, for a few per cent more bytes.
    return PreparedMessage(parsed, new_text, zlib.compress(raw, 3))


def prepare_many(raws: Sequence[bytes]) -> list[PreparedMessage]:
    """Prepare each raw message (runs in a pool process)."""
    return [prepare_one(raw) for raw in raws]


def processes_for(setting: int) -> int:
    """``INGEST_PROCESSES``: -1 picks one process when the machine has a second core."""
    if setting >= 0:
        return setting
    return 1 if (os.cpu_count() or 1) >= 2 else 0


def _get_pool(processes: int) -> tuple[ProcessPoolExecutor, bool]:
    """The pool, and whether its process is up."""
    global _pool, _ready
    with _lock:
        if _pool is None:
            # "spawn": the parent has threads (database pool, IMAP connections) that fork would
            # copy in whatever state they are.
            _pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
            _ready = _pool.submit(_started)
            atexit.register(shutdown)
        return _pool, _ready is not None and _ready.done()


def shutdown() -> None:
    global _pool, _ready
    with _lock:
        pool, _pool, _ready = _pool, None, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


async def prepare_batch(
    raws: Sequence[bytes], *, processes: int, inline: bool = False
) -> list[PreparedMessage] | None:
    """The prepared messages, from a pool process when ``processes`` > 0; ``None`` means
    "prepare them yourself" (small batch, no pool, or the pool broke)."""
    if inline or processes <= 0 or len(raws) < MIN_BATCH:
        return None
    pool, ready = _get_pool(processes)
    if not ready:
        return None
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, prepare_many, list(raws))
    except BrokenProcessPool:
        # A pool process died (out of memory on a pathological message): start a new pool
        # next time and parse this batch here, where the parser's own limits apply.
        log.warning("parse_pool_broken")
        shutdown()
        return None
