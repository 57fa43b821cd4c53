"""``/api/settings``: the signed-in user's preferences."""

from __future__ import annotations

from fastapi import APIRouter

from mailmind.deps import CurrentAuth, DbSession, RuntimeDep
from mailmind.settings import service
from mailmind.settings.schemas import SettingsRead, SettingsUpdate

router = APIRouter(prefix="/api/settings", tags=["settings"])


@router.get("", response_model=SettingsRead, summary="The user's settings")
async def get_settings(auth: CurrentAuth, session: DbSession) -> SettingsRead:
    return await service.get_settings(session, auth.user.id)


@router.patch(
    "",
    response_model=SettingsRead,
    summary="Change settings (partial; nested objects merge)",
)
async def update_settings(
    body: SettingsUpdate, auth: CurrentAuth, session: DbSession, runtime: RuntimeDep
) -> SettingsRead:
    return await service.update_settings(session, runtime, auth.user.id, body)
