"""Tags: paths (``Work/Clients``) validated per PRODUCT_SPEC §7, created on demand, renamed with
their sub-tags."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.errors import ValidationFailed, not_found
from mailmind.models import Tag
from mailmind.tag import repository as repo

SEPARATOR = "/"
MAX_SEGMENT = 64
MAX_DEPTH = 5
MAX_PATH = 255
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class TagWithCount:
    tag: Tag
    email_count: int


def normalize_path(path: str) -> str:
    """The canonical form of a tag path (segments trimmed); VAL002 when it breaks §7's rules."""
    segments = [segment.strip() for segment in path.split(SEPARATOR)]
    if not path.strip() or any(not s for s in segments):
        raise ValidationFailed(
            "VAL002", "A tag path needs non-empty segments", details={"field": "path"}
        )
    if any(len(s) > MAX_SEGMENT for s in segments):
        raise ValidationFailed(
            "VAL002",
            f"Tag segments are at most {MAX_SEGMENT} characters",
            details={"field": "path"},
        )
    if len(segments) > MAX_DEPTH:
        raise ValidationFailed(
            "VAL002", f"Tags nest at most {MAX_DEPTH} levels", details={"field": "path"}
        )
    normalized = SEPARATOR.join(segments)
    if len(normalized) > MAX_PATH:
        raise ValidationFailed(
            "VAL002", f"Tag paths are at most {MAX_PATH} characters", details={"field": "path"}
        )
    return normalized


def _check_color(color: str | None) -> None:
    if color is not None and not _COLOR.match(color):
        raise ValidationFailed("VAL002", "Colours are #rrggbb", details={"field": "color"})


def _parent_path(path: str) -> str | None:
    return path.rsplit(SEPARATOR, 1)[0] if SEPARATOR in path else None


async def ensure_tags(
    session: AsyncSession, user_id: uuid.UUID, paths: Iterable[str], *, source: str = "user"
) -> list[Tag]:
    """The user's tags at ``paths`` (validated), created with their parents when missing; an
    existing tag keeps its spelling, colour and source. A few statements whatever the number of
    paths: one read of every prefix, then an insert and a read per depth that is missing."""
    wanted = list(dict.fromkeys(normalize_path(p) for p in paths))
    # Every prefix of every path, by its case-folded form (tags are unique case-insensitively).
    prefixes: dict[str, str] = {}
    for path in wanted:
        segments = path.split(SEPARATOR)
        for depth in range(1, len(segments) + 1):
            prefix = SEPARATOR.join(segments[:depth])
            prefixes.setdefault(prefix.lower(), prefix)
    found = await _tags_by_folded_path(session, user_id, list(prefixes))
    missing = [prefix for folded, prefix in prefixes.items() if folded not in found]
    for depth in sorted({prefix.count(SEPARATOR) for prefix in missing}):
        level = [prefix for prefix in missing if prefix.count(SEPARATOR) == depth]
        rows = []
        for prefix in level:
            parent = found[prefix.rsplit(SEPARATOR, 1)[0].lower()] if depth else None
            rows.append(
                {
                    "user_id": user_id,
                    # Under an existing parent, its spelling: "work/x" joins "Work" as "Work/x".
                    "path": f"{parent.path}{SEPARATOR}{prefix.rsplit(SEPARATOR, 1)[1]}"
                    if parent
                    else prefix,
                    "parent_id": parent.id if parent else None,
                    "source": source,
                }
            )
        # ON CONFLICT: another request may create the same tag at the same moment.
        await session.execute(insert(Tag).values(rows).on_conflict_do_nothing())
        found.update(await _tags_by_folded_path(session, user_id, [p.lower() for p in level]))
    return [found[path.lower()] for path in wanted]


async def _tags_by_folded_path(
    session: AsyncSession, user_id: uuid.UUID, folded: list[str]
) -> dict[str, Tag]:
    if not folded:
        return {}
    tags = await session.scalars(
        select(Tag).where(Tag.user_id == user_id, func.lower(Tag.path).in_(folded))
    )
    return {tag.path.lower(): tag for tag in tags}


async def list_tags(session: AsyncSession, user_id: uuid.UUID) -> list[TagWithCount]:
    return [TagWithCount(t, n) for t, n in await repo.list_with_counts(session, user_id)]


async def get_owned(session: AsyncSession, user_id: uuid.UUID, tag_id: uuid.UUID) -> Tag:
    tag = await repo.get_tag(session, tag_id)
    if tag is None or tag.user_id != user_id:
        raise not_found("tag")
    return tag


async def with_count(session: AsyncSession, tag: Tag) -> TagWithCount:
    return TagWithCount(tag, await repo.email_count(session, tag.id))


async def create_tag(
    session: AsyncSession, user_id: uuid.UUID, *, path: str, color: str | None
) -> TagWithCount:
    path = normalize_path(path)
    _check_color(color)
    if await repo.find_by_paths(session, user_id, [path]):
        raise ValidationFailed("VAL008", "A tag with this path exists", details={"field": "path"})
    parent = _parent_path(path)
    parent_id = (await ensure_tags(session, user_id, [parent]))[0].id if parent else None
    tag = await repo.insert_tag(
        session, user_id=user_id, path=path, parent_id=parent_id, color=color, source="user"
    )
    return TagWithCount(tag, 0)


async def update_tag(
    session: AsyncSession,
    tag: Tag,
    *,
    path: str | None = None,
    color: str | None = None,
    color_set: bool = False,
) -> TagWithCount:
    if color_set:
        _check_color(color)
        tag.color = color
    if path is not None:
        await _rename(session, tag, normalize_path(path))
    await session.flush()
    return TagWithCount(tag, await repo.email_count(session, tag.id))


async def _rename(session: AsyncSession, tag: Tag, new_path: str) -> None:
    old_path = tag.path
    if new_path == old_path:
        return
    old_lower, new_lower = old_path.lower(), new_path.lower()
    if new_lower.startswith(old_lower + SEPARATOR):
        raise ValidationFailed(
            "VAL002", "A tag cannot move below itself", details={"field": "path"}
        )
    moved = await repo.subtree(session, tag.user_id, old_path)
    renamed = {t.id: new_path + t.path[len(old_path) :] for t in moved}
    for value in renamed.values():
        if len(value) > MAX_PATH or value.count(SEPARATOR) >= MAX_DEPTH:
            raise ValidationFailed(
                "VAL002",
                "The renamed sub-tags would break the path limits",
                details={"field": "path"},
            )
    moved_ids = {t.id for t in moved}
    clashes = await repo.find_by_paths(session, tag.user_id, renamed.values())
    if any(t.id not in moved_ids for t in clashes.values()):
        raise ValidationFailed("VAL008", "A tag with this path exists", details={"field": "path"})
    parent = _parent_path(new_path)
    if parent is not None and parent.lower().startswith(old_lower + SEPARATOR):
        raise ValidationFailed(
            "VAL002", "A tag cannot move below itself", details={"field": "path"}
        )
    parent_id = (await ensure_tags(session, tag.user_id, [parent]))[0].id if parent else None
    await repo.rename_subtree(session, tag.user_id, old_path, new_path)
    await session.refresh(tag)
    tag.parent_id = parent_id


async def delete_tag(session: AsyncSession, tag: Tag) -> None:
    await repo.delete_tag(session, tag.id)
