"""Access tokens: HS256 JWTs with ``sub``, ``sid``, ``jti``, ``iat`` and ``exp`` (15 minutes)."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from mailmind.errors import AuthError
from mailmind.kit.time import utcnow

ALGORITHM = "HS256"
AUDIENCE = "mailmind"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    jti: str
    expires_at: datetime


def issue_access_token(
    secret: str, *, user_id: uuid.UUID, session_id: uuid.UUID, ttl: int
) -> tuple[str, AccessClaims]:
    now = utcnow()
    # ``iat`` and ``exp`` are whole seconds, ``ttl`` apart; the claims carry the very instant
    # the token stops being accepted, not a moment up to a second later.
    iat = int(now.timestamp())
    exp = iat + ttl
    expires = datetime.fromtimestamp(exp, tz=UTC)
    jti = uuid.uuid4().hex
    token = jwt.encode(
        {
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": jti,
            "iat": iat,
            "exp": exp,
            "aud": AUDIENCE,
            "typ": "access",
        },
        secret,
        algorithm=ALGORITHM,
    )
    return token, AccessClaims(user_id, session_id, jti, expires)


# Verified tokens by their exact text: a client sends the same token for up to 15 minutes, and
# the HMAC check plus claim parsing is a measurable share of every authenticated request.
# Only tokens that verified are kept; expiry is still checked on every use.
_VERIFIED: OrderedDict[tuple[str, str], AccessClaims] = OrderedDict()
_VERIFIED_MAX = 10_000


def decode_access_token(secret: str, token: str) -> AccessClaims:
    """AUTH002 when expired, AUTH003 for anything else wrong with the token."""
    cached = _VERIFIED.get((secret, token))
    if cached is not None:
        if cached.expires_at <= utcnow():
            _VERIFIED.pop((secret, token), None)
            raise AuthError("AUTH002", "Access token expired")
        return cached
    claims = _decode(secret, token)
    _VERIFIED[(secret, token)] = claims
    if len(_VERIFIED) > _VERIFIED_MAX:
        _VERIFIED.popitem(last=False)
    return claims


def _decode(secret: str, token: str) -> AccessClaims:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "sid", "jti", "exp", "iat"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("AUTH002", "Access token expired") from exc
    except jwt.PyJWTError as exc:
        raise AuthError("AUTH003", "Access token invalid") from exc
    if payload.get("typ") != "access":
        raise AuthError("AUTH003", "Access token invalid")
    try:
        return AccessClaims(
            uuid.UUID(str(payload["sub"])),
            uuid.UUID(str(payload["sid"])),
            str(payload["jti"]),
            datetime.fromtimestamp(int(payload["exp"]), tz=utcnow().tzinfo),
        )
    except (ValueError, TypeError) as exc:
        raise AuthError("AUTH003", "Access token invalid") from exc
