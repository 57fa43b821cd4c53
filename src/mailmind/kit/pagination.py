"""Cursor pagination: opaque cursors over ``(sort value, id)`` keys."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from mailmind.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values), default=str)).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """The values encoded in ``cursor``; VAL002 when it was not made by :func:`encode_cursor`."""
    if not cursor:
        return None
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise ValidationFailed("VAL002", "Invalid cursor", details={"field": "cursor"}) from exc
    if not isinstance(values, list) or len(values) != arity:
        raise ValidationFailed("VAL002", "Invalid cursor", details={"field": "cursor"})
    return values
