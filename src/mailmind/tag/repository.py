"""Queries on tags and message-tag links."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.models import Message, MessageTag, Tag


def subtree_condition(path: str) -> ColumnElement[bool]:
    """Tags at ``path`` or below it, case-insensitively (``Work`` matches ``Work/Clients``)."""
    lowered = path.lower()
    return or_(
        func.lower(Tag.path) == lowered,
        func.lower(Tag.path).startswith(lowered + "/", autoescape=True),
    )


def subtree_ids(user_id: uuid.UUID, path: str) -> ColumnElement[bool]:
    """A subquery condition usable on ``MessageTag.tag_id``."""
    return MessageTag.tag_id.in_(
        select(Tag.id).where(Tag.user_id == user_id, subtree_condition(path))
    )


async def list_with_counts(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[Tag, int]]:
    counts = (
        select(MessageTag.tag_id, func.count().label("n"))
        .join(Message, Message.id == MessageTag.message_id)
        .where(Message.user_id == user_id, Message.deleted_at.is_(None))
        .group_by(MessageTag.tag_id)
        .subquery()
    )
    rows = await session.execute(
        select(Tag, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.tag_id == Tag.id)
        .where(Tag.user_id == user_id)
        .order_by(func.lower(Tag.path))
    )
    return [(tag, int(n)) for tag, n in rows]


async def email_count(session: AsyncSession, tag_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(MessageTag)
        .join(Message, Message.id == MessageTag.message_id)
        .where(MessageTag.tag_id == tag_id, Message.deleted_at.is_(None))
    )
    return int(count or 0)


async def get_tag(session: AsyncSession, tag_id: uuid.UUID) -> Tag | None:
    return await session.get(Tag, tag_id)


async def find_by_paths(
    session: AsyncSession, user_id: uuid.UUID, paths: Iterable[str]
) -> dict[str, Tag]:
    """``lower(path) -> Tag`` for the user's tags among ``paths``."""
    lowered = sorted({p.lower() for p in paths})
    if not lowered:
        return {}
    rows = await session.scalars(
        select(Tag).where(Tag.user_id == user_id, func.lower(Tag.path).in_(lowered))
    )
    return {tag.path.lower(): tag for tag in rows}


async def subtree(session: AsyncSession, user_id: uuid.UUID, path: str) -> list[Tag]:
    rows = await session.scalars(
        select(Tag).where(Tag.user_id == user_id, subtree_condition(path)).order_by(Tag.path)
    )
    return list(rows.all())


async def insert_tag(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    path: str,
    parent_id: uuid.UUID | None,
    color: str | None,
    source: str,
) -> Tag:
    tag = Tag(user_id=user_id, path=path, parent_id=parent_id, color=color, source=source)
    session.add(tag)
    await session.flush()
    return tag


async def rename_subtree(
    session: AsyncSession, user_id: uuid.UUID, old_path: str, new_path: str
) -> None:
    """Replace the ``old_path`` prefix by ``new_path`` on the tag and all tags below it."""
    await session.execute(
        update(Tag)
        .where(Tag.user_id == user_id, subtree_condition(old_path))
        .values(path=new_path + func.substr(Tag.path, len(old_path) + 1))
        .execution_options(synchronize_session="fetch")
    )


async def delete_tag(session: AsyncSession, tag_id: uuid.UUID) -> None:
    # Sub-tags go with it (parent_id cascades), and so do their links.
    await session.execute(delete(Tag).where(Tag.id == tag_id))


async def paths_of(
    session: AsyncSession, message_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """``message id -> tag paths`` (sorted case-insensitively)."""
    result: dict[uuid.UUID, list[str]] = {mid: [] for mid in message_ids}
    if not message_ids:
        return result
    rows = await session.execute(
        select(MessageTag.message_id, Tag.path)
        .join(Tag, Tag.id == MessageTag.tag_id)
        .where(MessageTag.message_id.in_(list(message_ids)))
        .order_by(func.lower(Tag.path))
    )
    for mid, path in rows:
        result[mid].append(path)
    return result


async def link(
    session: AsyncSession,
    message_ids: Sequence[uuid.UUID],
    tag_ids: Sequence[uuid.UUID],
    *,
    source: str = "user",
) -> None:
    if not message_ids or not tag_ids:
        return
    await session.execute(
        insert(MessageTag)
        .values(
            [{"message_id": m, "tag_id": t, "source": source} for m in message_ids for t in tag_ids]
        )
        .on_conflict_do_nothing()
    )


async def unlink(
    session: AsyncSession, message_ids: Sequence[uuid.UUID], tag_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """Remove the links; returns the removed ``(message id, tag id, source)``."""
    if not message_ids or not tag_ids:
        return []
    rows = await session.execute(
        delete(MessageTag)
        .where(
            and_(
                MessageTag.message_id.in_(list(message_ids)),
                MessageTag.tag_id.in_(list(tag_ids)),
            )
        )
        .returning(MessageTag.message_id, MessageTag.tag_id, MessageTag.source)
    )
    return [(m, t, s) for m, t, s in rows]
