"""Secrets at rest: AES-256-GCM with key ids."""

from __future__ import annotations

import os

import pytest

from mailmind.kit.crypto import DecryptionError, SecretBox, token_hash


def test_round_trip_and_rotation():
    old, new = os.urandom(32), os.urandom(32)
    key_id, sealed = SecretBox({"k1": old}).encrypt(b"imap-password", context=b"account-1")
    rotated = SecretBox({"k2": new, "k1": old})
    assert rotated.decrypt(key_id, sealed, context=b"account-1") == b"imap-password"
    assert rotated.encrypt(b"x")[0] == "k2"


def test_tampering_wrong_context_and_unknown_key_fail():
    box = SecretBox({"k1": os.urandom(32)})
    key_id, sealed = box.encrypt(b"secret", context=b"account-1")
    with pytest.raises(DecryptionError):
        box.decrypt(key_id, sealed[:-1] + bytes([sealed[-1] ^ 1]), context=b"account-1")
    with pytest.raises(DecryptionError):
        box.decrypt(key_id, sealed, context=b"account-2")
    with pytest.raises(DecryptionError):
        box.decrypt("k9", sealed, context=b"account-1")


def test_ciphertexts_differ_and_hide_the_plaintext():
    box = SecretBox({"k1": os.urandom(32)})
    a, b = box.encrypt(b"same")[1], box.encrypt(b"same")[1]
    assert a != b
    assert b"same" not in a


def test_token_hash_is_sha256_hex():
    assert len(token_hash("abc")) == 64
