"""Request and response bodies of ``/api/auth`` and ``/api/admin/users``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from mailmind.kit.schemas import RequestModel

LANGUAGES = ("en", "de")


class RegisterRequest(RequestModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    full_name: str = Field("", max_length=200)
    accept_terms: bool = True


class RegisterResponse(BaseModel):
    message: str
    verification_required: bool


class LoginRequest(RequestModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    remember_me: bool = True
    include_refresh_token: bool = False


class UserRead(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    email_verified: bool
    is_admin: bool
    is_active: bool
    language: str
    timezone: str
    created_at: datetime


class LoginResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    user: UserRead
    refresh_token: str | None = None


class RefreshRequest(RequestModel):
    refresh_token: str | None = Field(None, max_length=512)
    include_refresh_token: bool = False


class RefreshResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str | None = None


class ProfileUpdate(RequestModel):
    full_name: str | None = Field(None, max_length=200)
    language: Literal["en", "de"] | None = None
    timezone: str | None = Field(None, max_length=64)
    current_password: str | None = Field(None, max_length=1024)
    new_password: str | None = Field(None, max_length=1024)


class EmailRequest(RequestModel):
    email: str = Field(max_length=320)


class ResetPasswordRequest(RequestModel):
    token: str = Field(max_length=512)
    new_password: str = Field(max_length=1024)
    confirm_password: str = Field(max_length=1024)


class MessageResponse(BaseModel):
    message: str


class VerifiedResponse(BaseModel):
    verified: bool


class ResetTokenResponse(BaseModel):
    valid: bool
    email: str


class SessionRead(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool


class SecurityEventRead(BaseModel):
    id: uuid.UUID
    type: str
    created_at: datetime
    ip: str | None
    user_agent: str | None


class AdminUserRead(UserRead):
    last_login_at: datetime | None = None


class AdminUserList(BaseModel):
    items: list[AdminUserRead]
    next_cursor: str | None


class AdminUserUpdate(RequestModel):
    is_active: bool | None = None
    is_admin: bool | None = None
