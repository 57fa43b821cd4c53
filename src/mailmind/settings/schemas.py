"""The user's settings (PRODUCT_SPEC §3 ``/settings``, §2.5 Controls).

Language and time zone are the profile's columns; everything else lives in ``users.settings``
(JSONB) in the shape of :class:`StoredSettings`, which the AI pipeline reads as ``settings.ai``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from mailmind.kit.schemas import RequestModel

Feature = Literal["classify", "priority", "tags", "summary", "suggestions", "ask"]
FEATURES: tuple[Feature, ...] = ("classify", "priority", "tags", "summary", "suggestions", "ask")
Provider = Literal["auto", "local", "remote"]
Theme = Literal["light", "dark", "auto"]
MarkRead = Literal["immediately", "after_2s", "never"]
# "ui": the UI language; "original": the mail's own language.
SummaryLanguage = Literal["ui", "original", "en", "de"]
_TIME = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")


class FeatureSettings(BaseModel):
    enabled: bool = True
    provider: Provider = "auto"


class AISettings(BaseModel):
    enabled: bool = True
    local_only: bool = False
    summary_language: SummaryLanguage = "ui"
    # Mask addresses, phone numbers, IBANs and card numbers before text goes to a provider.
    redact_pii: bool = True
    features: dict[Feature, FeatureSettings] = Field(
        default_factory=lambda: {feature: FeatureSettings() for feature in FEATURES}
    )

    def feature(self, name: str) -> FeatureSettings:
        for key, value in self.features.items():
            if key == name:
                return value
        return FeatureSettings()


class QuietHours(BaseModel):
    enabled: bool = False
    start: str = "22:00"
    end: str = "07:00"

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError("expected HH:MM (24 h)")
        return value


class NotificationSettings(BaseModel):
    high_priority: bool = True  # new mail with priority ≥70
    toasts: bool = True
    desktop: bool = False
    quiet_hours: QuietHours = Field(default_factory=QuietHours)


class StoredSettings(BaseModel):
    """``users.settings``: unknown keys from older versions are dropped on the next write."""

    theme: Theme = "auto"
    mark_read: MarkRead = "after_2s"
    shortcuts_enabled: bool = True
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    ai: AISettings = Field(default_factory=AISettings)


class SettingsRead(StoredSettings):
    language: Literal["en", "de"]
    timezone: str


# --- PATCH: every field optional; nested objects merge ------------------------------------------


class FeatureUpdate(RequestModel):
    enabled: bool | None = None
    provider: Provider | None = None


class AIUpdate(RequestModel):
    enabled: bool | None = None
    local_only: bool | None = None
    summary_language: SummaryLanguage | None = None
    redact_pii: bool | None = None
    features: dict[Feature, FeatureUpdate] | None = None


class QuietHoursUpdate(RequestModel):
    enabled: bool | None = None
    start: str | None = None
    end: str | None = None

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None and not _TIME.match(value):
            raise ValueError("expected HH:MM (24 h)")
        return value


class NotificationUpdate(RequestModel):
    high_priority: bool | None = None
    toasts: bool | None = None
    desktop: bool | None = None
    quiet_hours: QuietHoursUpdate | None = None


class SettingsUpdate(RequestModel):
    language: Literal["en", "de"] | None = None
    timezone: str | None = Field(None, max_length=64)
    theme: Theme | None = None
    mark_read: MarkRead | None = None
    shortcuts_enabled: bool | None = None
    notifications: NotificationUpdate | None = None
    ai: AIUpdate | None = None
