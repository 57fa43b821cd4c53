"""The MailMind error family and the one renderer of the spec's error body.

Every error that leaves the API is a :class:`MailMindError` rendered as::

    {"error": {"code": "AUTH001", "message": "...", "details": {...}, "timestamp": "..."}}

The tree (PRODUCT_SPEC §5)::

    MailMindError(code, message, status, details)
    ├── AuthError            AUTH001–AUTH010
    ├── ValidationFailed     VAL001–VAL008
    ├── ResourceError        RES001–RES005
    ├── MailError            EMAIL001–EMAIL007
    ├── AIError              AI001–AI007
    ├── ServerError          SRV001–SRV006
    └── RateLimited          RATE001–RATE003, and AUTH007 (adds Retry-After)

Expected outcomes (bad input, unknown ids, a refused login) are never a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

# code -> (HTTP status, default message)
CODES: dict[str, tuple[int, str]] = {
    "AUTH001": (401, "Invalid credentials"),
    "AUTH002": (401, "Token expired"),
    "AUTH003": (401, "Token invalid"),
    "AUTH004": (403, "Insufficient permissions"),
    "AUTH005": (400, "Account locked"),
    "AUTH006": (400, "Account not verified"),
    "AUTH007": (429, "Too many login attempts"),
    "AUTH008": (400, "OAuth provider error"),
    "AUTH009": (400, "Invalid refresh token"),
    "AUTH010": (401, "Session expired"),
    "VAL001": (400, "Required field missing"),
    "VAL002": (400, "Invalid field format"),
    "VAL003": (400, "Field value out of range"),
    "VAL004": (400, "Invalid email address"),
    "VAL005": (400, "Password too weak"),
    "VAL006": (413, "Request too large"),
    "VAL007": (400, "Invalid date format"),
    "VAL008": (400, "Duplicate entry"),
    "RES001": (404, "Resource not found"),
    "RES002": (410, "Resource deleted"),
    "RES003": (409, "Resource conflict"),
    "RES004": (423, "Resource locked"),
    "RES005": (403, "Access denied"),
    "EMAIL001": (500, "IMAP connection failed"),
    "EMAIL002": (500, "SMTP connection failed"),
    "EMAIL003": (400, "Invalid recipient"),
    "EMAIL004": (507, "Mailbox full"),
    "EMAIL005": (400, "Attachment too large"),
    "EMAIL006": (500, "Synchronisation failed"),
    "EMAIL007": (400, "Invalid folder"),
    "AI001": (500, "LLM API error"),
    "AI002": (503, "AI service unavailable"),
    "AI003": (429, "AI rate limit exceeded (provider)"),
    "AI004": (500, "Vector DB error"),
    "AI005": (500, "Embedding generation failed"),
    "AI006": (400, "Unsupported content type"),
    "AI007": (504, "AI processing timeout"),
    "SRV001": (500, "Internal server error"),
    "SRV002": (503, "Service unavailable"),
    "SRV003": (504, "Gateway timeout"),
    "SRV004": (502, "Bad gateway"),
    "SRV005": (507, "Storage full"),
    "SRV006": (500, "Database error"),
    "RATE001": (429, "API rate limit exceeded"),
    "RATE002": (429, "Email sync rate limit"),
    "RATE003": (429, "AI processing rate limit"),
}


class MailMindError(Exception):
    """Base of every error the API answers with; carries the spec code, HTTP status and details."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        default_status, default_message = CODES[code]
        self.code = code
        self.message = message or default_message
        self.status = status or default_status
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(f"{code}: {self.message}")

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


class AuthError(MailMindError):
    """Authentication and authorisation failures (AUTH001–AUTH010)."""


class ValidationFailed(MailMindError):
    """The request is malformed or a field is invalid (VAL001–VAL008)."""


class ResourceError(MailMindError):
    """Unknown, deleted, locked or conflicting resources (RES001–RES005).

    Another user's resource is reported exactly like a missing one (RES001), so ids leak nothing.
    """


class MailError(MailMindError):
    """Mail server and message problems (EMAIL001–EMAIL007)."""


class AIError(MailMindError):
    """AI provider and vector store problems (AI001–AI007)."""


class ServerError(MailMindError):
    """Failures on our side (SRV001–SRV006); the message never includes internals."""


class RateLimited(MailMindError):
    """A limit was reached; the response carries ``Retry-After`` and ``details.retryAfter``."""

    def __init__(
        self,
        code: str,
        retry_after: int,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        retry_after = max(1, int(retry_after))
        merged = {**(details or {}), "retryAfter": retry_after}
        super().__init__(code, message, details=merged, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


def not_found(what: str = "resource") -> ResourceError:
    return ResourceError("RES001", f"{what.capitalize()} not found")


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "timestamp": utcnow_iso(),
        }
    }


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]
    timestamp: str


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail
