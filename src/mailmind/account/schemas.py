"""Request and response bodies of ``/api/accounts``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from mailmind.kit.schemas import RequestModel

Security = Literal["ssl", "starttls", "none"]
# A host name or an IP literal: no spaces, no scheme, no path.
HOST_PATTERN = r"^[A-Za-z0-9.\-:\[\]_]+$"


class ServerIn(RequestModel):
    host: str = Field(min_length=1, max_length=255, pattern=HOST_PATTERN)
    port: int = Field(ge=1, le=65535)
    security: Security
    # The login name; the account's address when omitted.
    username: str | None = Field(None, min_length=1, max_length=320)


class AccountCreate(RequestModel):
    kind: Literal["imap", "gmail", "microsoft"] = "imap"
    email: str = Field(max_length=320)
    display_name: str = Field("", max_length=200)
    imap: ServerIn
    smtp: ServerIn
    password: SecretStr = Field(min_length=1, max_length=1024)


class SyncSettingsIn(RequestModel):
    initial_days: int | None = Field(None, ge=1, le=3650)
    # 0 = the whole mailbox
    depth_days: int | None = Field(None, ge=0, le=36500)
    excluded_folders: list[uuid.UUID] | None = Field(None, max_length=1000)


class AccountUpdate(RequestModel):
    display_name: str | None = Field(None, max_length=200)
    imap: ServerIn | None = None
    smtp: ServerIn | None = None
    password: SecretStr | None = Field(None, min_length=1, max_length=1024)
    ai_enabled: bool | None = None
    sync: SyncSettingsIn | None = None


class ServerRead(BaseModel):
    host: str
    port: int
    security: Security
    username: str


class SyncSettingsRead(BaseModel):
    initial_days: int
    depth_days: int
    excluded_folders: list[uuid.UUID]


class AccountRead(BaseModel):
    id: uuid.UUID
    kind: Literal["imap", "gmail", "microsoft", "local"]
    email: str
    display_name: str
    sync_state: str
    sync_error: str | None
    last_sync_at: datetime | None
    ai_enabled: bool
    sync: SyncSettingsRead
    imap: ServerRead | None
    smtp: ServerRead | None
    # "password" or "oauth"; "none" for the local account
    auth: Literal["password", "oauth", "none"]
    created_at: datetime


class AccountList(BaseModel):
    items: list[AccountRead]
    next_cursor: str | None = None


class ServerSettingsRead(BaseModel):
    host: str
    port: int
    security: Security


class AutodetectRead(BaseModel):
    imap: ServerSettingsRead
    smtp: ServerSettingsRead
    kind_hint: Literal["imap", "gmail", "microsoft"]
    # Where the answer came from: the built-in table, DNS SRV (RFC 6186), the MX hosts, or a guess
    source: Literal["table", "srv", "mx", "guess"]
    provider: str | None


class OAuthStartRead(BaseModel):
    authorization_url: str


class SyncRequest(RequestModel):
    full: bool = False


class SyncQueued(BaseModel):
    job_id: int


class AccountDeleted(BaseModel):
    id: uuid.UUID
    sync_state: Literal["disabled"]
    message: str
