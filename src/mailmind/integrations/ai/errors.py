"""The error every remote AI provider adapter raises.

Each error carries the spec code it maps to (PRODUCT_SPEC §5) and whether the same call may
succeed later::

    AIProviderError(reason, code, transient)
    reason          code    transient   cause
    timeout         AI007   yes         no answer within the timeout (30 s by default)
    rate_limit      AI003   yes         the provider answered 429 (``retry_after`` from Retry-After)
    unavailable     AI002   yes         connection failed, 5xx overloaded (502/503/504/529)
    api             AI001   no/yes      any other error answer (4xx: no, 500: yes)
    invalid_output  AI001   no          the answer is not the requested structured output
    config          AI002   no          the provider is not configured (no key, no base URL)
"""

from __future__ import annotations

from typing import Literal

from mailmind.errors import AIError, MailMindError, RateLimited

Reason = Literal["timeout", "rate_limit", "unavailable", "api", "invalid_output", "config"]

_CODES: dict[Reason, str] = {
    "timeout": "AI007",
    "rate_limit": "AI003",
    "unavailable": "AI002",
    "api": "AI001",
    "invalid_output": "AI001",
    "config": "AI002",
}


class AIProviderError(Exception):
    """A remote AI provider failed a call.

    ``reason`` says what happened, ``code`` is the spec error code an API answer would carry,
    ``transient`` whether retrying later can help, ``retry_after`` (seconds) is set for provider
    rate limits, ``status`` is the provider's HTTP status when it answered at all.
    """

    def __init__(
        self,
        reason: Reason,
        message: str,
        *,
        provider: str,
        transient: bool,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.code = _CODES[reason]
        self.message = message
        self.provider = provider
        self.transient = transient
        self.status = status
        self.retry_after = retry_after

    def to_api_error(self) -> MailMindError:
        """The error an API call answers with; AI003 carries ``Retry-After``."""
        details = {"provider": self.provider, "reason": self.reason}
        if self.reason == "rate_limit":
            return RateLimited("AI003", self.retry_after or 60, details=details)
        return AIError(self.code, details=details)


class InvalidOutput(AIProviderError):
    """The provider answered, but not with JSON matching the requested schema (or refused)."""

    def __init__(self, message: str, *, provider: str) -> None:
        super().__init__("invalid_output", message, provider=provider, transient=False)
