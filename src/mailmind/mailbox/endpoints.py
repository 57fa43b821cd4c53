"""``/api/folders``: the folders of the user's accounts with unread and total counts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from mailmind.deps import CurrentAuth, DbSession, RuntimeDep
from mailmind.mailbox import service
from mailmind.mailbox.schemas import FolderCreate, FolderRead, FolderUpdate
from mailmind.models import Folder

router = APIRouter(prefix="/api/folders", tags=["folders"])


async def owned_folder(
    session: DbSession, auth: CurrentAuth, folder_id: Annotated[uuid.UUID, Path()]
) -> Folder:
    return await service.get_owned(session, auth.user.id, folder_id)


OwnedFolder = Annotated[Folder, Depends(owned_folder)]


def _read(item: service.FolderWithCounts) -> FolderRead:
    folder = item.folder
    return FolderRead(
        id=folder.id,
        account_id=folder.account_id,
        name=folder.name,
        path=folder.path,
        role=folder.role,
        parent_id=folder.parent_id,
        unread_count=item.unread_count,
        total_count=item.total_count,
    )


@router.get("", response_model=list[FolderRead])
async def list_folders(
    session: DbSession, auth: CurrentAuth, account_id: uuid.UUID | None = None
) -> list[FolderRead]:
    items = await service.list_folders(session, auth.user.id, account_id=account_id)
    return [_read(item) for item in items]


@router.post("", response_model=FolderRead, status_code=status.HTTP_201_CREATED)
async def create_folder(body: FolderCreate, session: DbSession, auth: CurrentAuth) -> FolderRead:
    item = await service.create_folder(
        session, auth.user.id, account_id=body.account_id, name=body.name, parent_id=body.parent_id
    )
    return _read(item)


@router.get("/{folder_id}", response_model=FolderRead)
async def get_folder(folder: OwnedFolder, session: DbSession) -> FolderRead:
    return _read((await service.with_counts(session, [folder]))[0])


@router.patch("/{folder_id}", response_model=FolderRead)
async def update_folder(folder: OwnedFolder, body: FolderUpdate, session: DbSession) -> FolderRead:
    item = await service.update_folder(
        session,
        folder,
        name=body.name,
        parent_id=body.parent_id,
        parent_set="parent_id" in body.model_fields_set,
    )
    return _read(item)


@router.delete("/{folder_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_folder(folder: OwnedFolder, session: DbSession, runtime: RuntimeDep) -> Response:
    await service.delete_folder(session, runtime, folder)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
