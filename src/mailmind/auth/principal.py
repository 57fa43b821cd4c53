"""The signed-in user as every request sees it: a read-only snapshot, loaded without the ORM."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuthUser:
    id: uuid.UUID
    email: str
    full_name: str
    is_admin: bool
    is_active: bool
    email_verified_at: datetime | None
    language: str
    timezone: str
    created_at: datetime
    deleted_at: datetime | None
