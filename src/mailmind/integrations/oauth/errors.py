"""Errors of the OAuth adapters; none is transient from the user's point of view."""

from __future__ import annotations


class OAuthError(Exception):
    """The provider refused, answered something invalid, or is not configured (AUTH008)."""
