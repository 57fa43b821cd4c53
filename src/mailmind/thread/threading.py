"""Conversation threading per account (JWZ, https://www.jwz.org/doc/threading.html).

A message joins the thread of any message it references (In-Reply-To, References) or of any
message that references it (a reply that arrived first); when these point at several threads,
the threads are merged. Only a message without references falls back to the subject: the same
normalised subject (Re:/AW:/Fwd:/WG: stripped), a participant in common and at most 30 days
between them (PRODUCT_SPEC §2.3).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.message.repository import copy_rows
from mailmind.models import Base, Message, Thread

SUBJECT_WINDOW = timedelta(days=30)


@dataclass
class ThreadCandidate:
    """What threading needs to know about one incoming message."""

    message_id: str | None
    in_reply_to: str | None
    references: Sequence[str]
    normalized_subject: str
    subject: str
    participants: frozenset[str]
    date: datetime | None
    thread_id: uuid.UUID | None = field(default=None)

    @property
    def refs(self) -> list[str]:
        ids = list(self.references)
        if self.in_reply_to and self.in_reply_to not in ids:
            ids.append(self.in_reply_to)
        return [i for i in ids if i and i != self.message_id]


async def assign_threads(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    account_id: uuid.UUID,
    batch: list[ThreadCandidate],
) -> set[uuid.UUID]:
    """Set ``thread_id`` on every candidate, creating and merging threads as needed.

    Returns the ids of threads that changed (their counters must be refreshed)."""
    touched: set[uuid.UUID] = set()
    all_refs = {r for c in batch for r in c.refs}
    own_ids = [c.message_id for c in batch if c.message_id]

    # Threads of the messages this batch references.
    by_message_id: dict[str, uuid.UUID] = {}
    if all_refs:
        found_refs = await session.execute(
            select(Message.message_id_header, Message.thread_id).where(
                Message.account_id == account_id,
                Message.message_id_header.in_(all_refs),
                Message.thread_id.is_not(None),
            )
        )
        for mid, tid in found_refs:
            if mid is not None and tid is not None:
                by_message_id.setdefault(mid, tid)

    # Threads of stored messages that reference a message of this batch (replies seen first).
    referenced_by: dict[str, set[uuid.UUID]] = {}
    if own_ids:
        replies = await session.execute(
            select(Message.in_reply_to, Message.references, Message.thread_id).where(
                Message.account_id == account_id,
                Message.thread_id.is_not(None),
                or_(
                    Message.references.overlap(own_ids),
                    Message.in_reply_to.in_(own_ids),
                ),
            )
        )
        wanted = set(own_ids)
        for in_reply_to, references, tid in replies:
            if tid is None:
                continue
            for ref in {in_reply_to, *references} & wanted:
                if ref is not None:
                    referenced_by.setdefault(ref, set()).add(tid)

    merges: dict[uuid.UUID, uuid.UUID] = {}

    def resolve(tid: uuid.UUID) -> uuid.UUID:
        while tid in merges:
            tid = merges[tid]
        return tid

    by_subject = await _subject_candidates(session, account_id, [c for c in batch if not c.refs])
    new_threads: list[dict[str, object]] = []
    for cand in batch:
        found: list[uuid.UUID] = []
        for ref in cand.refs:
            tid = by_message_id.get(ref)
            if tid is not None:
                found.append(resolve(tid))
        if cand.message_id:
            found.extend(resolve(t) for t in referenced_by.get(cand.message_id, ()))
            tid = by_message_id.get(cand.message_id)  # same Message-ID already threaded
            if tid is not None:
                found.append(resolve(tid))
        unique = list(dict.fromkeys(found))
        if unique:
            keep = unique[0]
            for other in unique[1:]:
                merges[other] = keep
            cand.thread_id = keep
        elif not cand.refs:
            match = _subject_match(by_subject.get(cand.normalized_subject, []), cand)
            cand.thread_id = resolve(match) if match else None
        if cand.thread_id is None:
            cand.thread_id = uuid.uuid4()
            new_threads.append(
                {
                    "id": cand.thread_id,
                    "user_id": user_id,
                    "account_id": account_id,
                    "subject": cand.subject,
                    "normalized_subject": cand.normalized_subject,
                    "root_message_id": cand.refs[0] if cand.refs else cand.message_id,
                    "first_message_at": cand.date,
                    "last_message_at": cand.date,
                }
            )
        touched.add(cand.thread_id)
        if cand.message_id:
            by_message_id.setdefault(cand.message_id, cand.thread_id)
        if not cand.refs and cand.normalized_subject and cand.date is not None:
            by_subject.setdefault(cand.normalized_subject, []).append(
                (cand.thread_id, cand.participants, cand.date)
            )

    await copy_rows(session, _THREADS, new_threads)
    for cand in batch:
        assert cand.thread_id is not None
        cand.thread_id = resolve(cand.thread_id)
    if merges:
        moves = [{"old": old, "new": resolve(old)} for old in merges]
        # One executemany and one DELETE for all merges of the batch; the messages move before
        # their old thread goes (its foreign key would otherwise clear their thread_id).
        await session.execute(_MOVE_TO_THREAD, moves)
        await session.execute(delete(_THREADS).where(_THREADS.c.id.in_(list(merges))))
        touched.difference_update(merges)
        touched.update(move["new"] for move in moves)
    return touched


# Core statements on the tables (not the mapped classes): no ORM bookkeeping per row.
_THREADS = Base.metadata.tables[Thread.__tablename__]
_MESSAGES = Base.metadata.tables[Message.__tablename__]
_MOVE_TO_THREAD = (
    update(_MESSAGES)
    .where(_MESSAGES.c.thread_id == bindparam("old"))
    .values(thread_id=bindparam("new"))
)


_Known = tuple[uuid.UUID, frozenset[str], datetime]


async def _subject_candidates(
    session: AsyncSession, account_id: uuid.UUID, batch: list[ThreadCandidate]
) -> dict[str, list[_Known]]:
    """Stored messages that share a normalised subject with a message of the batch and are
    close enough in time, with their participants: one query for the whole batch."""
    dated = [c for c in batch if c.normalized_subject and c.date is not None]
    if not dated:
        return {}
    earliest = min(c.date for c in dated if c.date) - SUBJECT_WINDOW
    latest = max(c.date for c in dated if c.date) + SUBJECT_WINDOW
    rows = await session.execute(
        select(
            Thread.normalized_subject,
            Message.thread_id,
            Message.sender_address,
            Message.to_addrs,
            Message.cc_addrs,
            Message.date,
        )
        .join(Thread, Thread.id == Message.thread_id)
        .where(
            Thread.account_id == account_id,
            Thread.normalized_subject.in_({c.normalized_subject for c in dated}),
            Message.date.between(earliest, latest),
        )
    )
    found: dict[str, list[_Known]] = {}
    for subject, tid, sender, to, cc, when in rows:
        if tid is None or when is None:
            continue
        people = frozenset({sender.lower(), *(a["address"].lower() for a in [*to, *cc])})
        found.setdefault(subject, []).append((tid, people, when))
    return found


def _subject_match(known: list[_Known], cand: ThreadCandidate) -> uuid.UUID | None:
    if cand.date is None or not cand.participants:
        return None
    best: tuple[timedelta, uuid.UUID] | None = None
    for tid, people, when in known:
        gap = abs(when - cand.date)
        if gap <= SUBJECT_WINDOW and people & cand.participants and (best is None or gap < best[0]):
            best = (gap, tid)
    return best[1] if best else None


async def refresh_threads(session: AsyncSession, thread_ids: set[uuid.UUID]) -> None:
    """Recompute counters, dates and subject of the given threads from their messages; a thread
    left without messages is removed."""
    if not thread_ids:
        return
    ids = list(thread_ids)
    live = Message.deleted_at.is_(None)
    stats = (
        select(
            Message.thread_id.label("tid"),
            func.count().label("n"),
            func.count().filter(Message.is_read.is_(False)).label("unread"),
            func.min(Message.date).label("first"),
            func.max(Message.date).label("last"),
        )
        .where(Message.thread_id.in_(ids), live)
        .group_by(Message.thread_id)
        .subquery()
    )
    await session.execute(
        update(Thread)
        # The id list as well as the join: the planner then reads these threads by key instead
        # of hashing the whole table.
        .where(Thread.id.in_(ids), Thread.id == stats.c.tid)
        .values(
            message_count=stats.c.n,
            unread_count=stats.c.unread,
            first_message_at=stats.c.first,
            last_message_at=stats.c.last,
        )
    )
    await session.execute(
        delete(Thread).where(
            Thread.id.in_(ids),
            ~select(Message.id).where(Message.thread_id == Thread.id, live).exists(),
        )
    )
