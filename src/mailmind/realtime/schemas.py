"""Messages of the WebSocket protocol (PRODUCT_SPEC §4): what clients send, and the event types
the server pushes."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field

from mailmind.kit.schemas import RequestModel

EventType = Literal[
    "new_email",
    "email_processed",
    "email_updated",
    "sync_status",
    "ai_suggestion",
    "notification",
    "error",
]
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))


class AuthMessage(RequestModel):
    type: Literal["auth"]
    # An access JWT is a few hundred bytes; the bound keeps a hostile client from making us
    # hash megabytes.
    token: str = Field(min_length=1, max_length=4096)
    data: dict[str, Any] | None = None


class PingMessage(RequestModel):
    type: Literal["ping"]
    data: dict[str, Any] | None = None


class EventsData(RequestModel):
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))


class SubscribeMessage(RequestModel):
    type: Literal["subscribe"]
    data: EventsData


class UnsubscribeMessage(RequestModel):
    type: Literal["unsubscribe"]
    data: EventsData


ClientMessage = AuthMessage | PingMessage | SubscribeMessage | UnsubscribeMessage
# By `type`; looked up before validating, so an unknown type is reported as such.
CLIENT_MESSAGES: dict[str, type[ClientMessage]] = {
    "auth": AuthMessage,
    "ping": PingMessage,
    "subscribe": SubscribeMessage,
    "unsubscribe": UnsubscribeMessage,
}
