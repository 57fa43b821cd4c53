"""``/api/tags``: the user's tag tree with colours and counts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from mailmind.deps import CurrentAuth, DbSession
from mailmind.models import Tag
from mailmind.tag import service
from mailmind.tag.schemas import TagCreate, TagRead, TagUpdate

router = APIRouter(prefix="/api/tags", tags=["tags"])


async def owned_tag(
    session: DbSession, auth: CurrentAuth, tag_id: Annotated[uuid.UUID, Path()]
) -> Tag:
    """The caller's tag, else RES001 (another user's tag looks exactly like a missing one)."""
    return await service.get_owned(session, auth.user.id, tag_id)


OwnedTag = Annotated[Tag, Depends(owned_tag)]


def _read(item: service.TagWithCount) -> TagRead:
    tag = item.tag
    return TagRead(
        id=tag.id,
        path=tag.path,
        color=tag.color,
        source="ai" if tag.source == "ai" else "user",
        email_count=item.email_count,
    )


@router.get("", response_model=list[TagRead])
async def list_tags(session: DbSession, auth: CurrentAuth) -> list[TagRead]:
    return [_read(item) for item in await service.list_tags(session, auth.user.id)]


@router.post("", response_model=TagRead, status_code=status.HTTP_201_CREATED)
async def create_tag(body: TagCreate, session: DbSession, auth: CurrentAuth) -> TagRead:
    return _read(await service.create_tag(session, auth.user.id, path=body.path, color=body.color))


@router.get("/{tag_id}", response_model=TagRead)
async def get_tag(tag: OwnedTag, session: DbSession) -> TagRead:
    return _read(await service.with_count(session, tag))


@router.patch("/{tag_id}", response_model=TagRead)
async def update_tag(tag: OwnedTag, body: TagUpdate, session: DbSession) -> TagRead:
    return _read(
        await service.update_tag(
            session,
            tag,
            path=body.path,
            color=body.color,
            color_set="color" in body.model_fields_set,
        )
    )


@router.delete("/{tag_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tag(tag: OwnedTag, session: DbSession) -> Response:
    await service.delete_tag(session, tag)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
