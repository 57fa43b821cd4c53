"""Reading and changing a user's settings; the AI controls other packages consult."""

from __future__ import annotations

import uuid
import zoneinfo
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.auth.usercache import user_changed
from mailmind.errors import AuthError, ValidationFailed
from mailmind.models import User
from mailmind.runtime import Runtime
from mailmind.settings import repository as repo
from mailmind.settings.schemas import AISettings, SettingsRead, SettingsUpdate, StoredSettings


def stored_settings(raw: dict[str, Any] | None) -> StoredSettings:
    """``users.settings`` with defaults filled in. A part that no longer validates (written by
    an older version) falls back to its default instead of failing every read."""
    raw = raw if isinstance(raw, dict) else {}
    try:
        return StoredSettings.model_validate(raw)
    except ValidationError:
        kept: dict[str, Any] = {}
        for key, value in raw.items():
            try:
                StoredSettings.model_validate({key: value})
            except ValidationError:
                continue
            kept[key] = value
        return StoredSettings.model_validate(kept)


def ai_settings_of(raw: dict[str, Any] | None) -> AISettings:
    """The AI controls within a ``users.settings`` value."""
    return stored_settings(raw).ai


async def load_ai_settings(session: AsyncSession, user_id: uuid.UUID) -> AISettings:
    user = await repo.get_user(session, user_id)
    return ai_settings_of(user.settings if user is not None else None)


def _read(user: User) -> SettingsRead:
    stored = stored_settings(user.settings)
    return SettingsRead(
        **stored.model_dump(),
        language="de" if user.language == "de" else "en",
        timezone=user.timezone,
    )


async def _load(session: AsyncSession, user_id: uuid.UUID, *, lock: bool = False) -> User:
    user = await repo.get_user(session, user_id, lock=lock)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise AuthError("AUTH003", "Access token invalid")
    return user


async def get_settings(session: AsyncSession, user_id: uuid.UUID) -> SettingsRead:
    return _read(await _load(session, user_id))


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


async def update_settings(
    session: AsyncSession, runtime: Runtime, user_id: uuid.UUID, update: SettingsUpdate
) -> SettingsRead:
    """Apply a partial change: given fields replace, nested objects merge, omitted (or null)
    fields stay. VAL002 for an unknown time zone."""
    user = await _load(session, user_id, lock=True)
    changes = update.model_dump(exclude_none=True)
    language = changes.pop("language", None)
    timezone = changes.pop("timezone", None)
    if timezone is not None:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationFailed(
                "VAL002", "Unknown time zone", details={"field": "timezone"}
            ) from exc
    if language is not None or timezone is not None:
        user.language = language or user.language
        user.timezone = timezone or user.timezone
        # The profile (language, time zone) is part of every process's snapshot of the user.
        user_changed(session, runtime.store, user.id)
    if changes:
        current = stored_settings(user.settings).model_dump(mode="json")
        user.settings = StoredSettings.model_validate(_merge(current, changes)).model_dump(
            mode="json"
        )
    await session.flush()
    return _read(user)
