"""Password hashing (Argon2id) and the password policy of PRODUCT_SPEC §2.1.

Policy: 8–128 characters; refused when on the bundled common-password lists (zxcvbn's 30,000
most common plus ``data/common-passwords-extra.txt``), when it contains the e-mail's local part,
or when it is nothing but keyboard walks, sequences, repeats and common passwords. No character
class rules.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from mailmind.errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 128
_WEAK_PATTERNS = {"spatial", "sequence", "repeat"}

_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile defaults
# Verified when the account does not exist, so both paths cost one Argon2 verification.
_DUMMY_HASH = _hasher.hash("mailmind-dummy-password-for-timing")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    extra = resources.files("mailmind.data").joinpath("common-passwords-extra.txt")
    words = {
        line.strip().lower()
        for line in extra.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    return frozenset(words | {w.lower() for w in FREQUENCY_LISTS["passwords"]})


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why ``password`` is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in _common_passwords():
        return "This password is on the list of common passwords."
    local_part = (email or "").split("@", 1)[0].lower()
    if len(local_part) >= 3 and local_part in lowered:
        return "The password must not contain your e-mail address."
    result = zxcvbn(password, user_inputs=[local_part] if local_part else [])
    matches = result["sequence"]
    only_patterns = all(
        m["pattern"] in _WEAK_PATTERNS
        or (m["pattern"] == "dictionary" and m.get("dictionary_name") == "passwords")
        for m in matches
    )
    if only_patterns or result["score"] == 0:
        return "This password is a keyboard pattern, sequence or repetition; choose another."
    return None


def check_password(password: str, email: str | None = None, field: str = "password") -> None:
    problem = password_problem(password, email)
    if problem:
        raise ValidationFailed("VAL005", problem, details={"field": field})


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work verification: an unknown user still costs one Argon2 verification."""

    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(_verify)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
