"""Secrets at rest (AES-256-GCM with a key id) and token hashing."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class SecretBox:
    """Encrypts with the first key of ``ENCRYPTION_KEY`` and decrypts with any listed key.

    Each ciphertext is ``nonce ‖ ciphertext+tag``; the key id is stored beside it (and bound to it
    as associated data, so a ciphertext cannot be replayed under another key id or context).
    """

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is required")
        self._keys = dict(keys)
        self.current_key_id = next(iter(keys))

    def encrypt(self, plaintext: bytes, *, context: bytes = b"") -> tuple[str, bytes]:
        """Return ``(key_id, sealed)``; ``context`` (e.g. the account id) must match on decrypt."""
        key_id = self.current_key_id
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self._keys[key_id]).encrypt(nonce, plaintext, key_id.encode() + context)
        return key_id, nonce + sealed

    def decrypt(self, key_id: str, sealed: bytes, *, context: bytes = b"") -> bytes:
        """Raise :class:`DecryptionError` when the key is unknown or the data was altered."""
        key = self._keys.get(key_id)
        if key is None:
            raise DecryptionError(f"unknown encryption key id {key_id!r}")
        try:
            return AESGCM(key).decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], key_id.encode() + context
            )
        except InvalidTag as exc:
            raise DecryptionError("ciphertext failed authentication") from exc


class DecryptionError(Exception):
    """A stored secret cannot be decrypted with the configured keys (not transient)."""


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token for refresh, verification and reset links."""
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """SHA-256 hex of a token; only hashes are stored, so a database leak reveals no token."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
