"""Authorization-code flow with PKCE, state and nonce, and ID-token validation (OpenID Connect
Core §3.1), against a provider's discovery document.

PyJWT validates the ID token (signature from the provider's JWKS, ``iss``, ``aud``, ``exp``,
``nonce``); httpx talks to the endpoints. The flow itself is a few lines, so no OAuth framework is
pulled in for it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from mailmind.integrations.oauth.errors import OAuthError

HTTP_TIMEOUT = 15.0
DISCOVERY_TTL = 3600.0


@dataclass(frozen=True)
class Provider:
    """A configured OpenID provider (Google, Microsoft)."""

    name: str
    client_id: str
    client_secret: str
    discovery_url: str
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    # Microsoft's multi-tenant endpoints issue tokens whose issuer names the user's tenant.
    issuer_has_tenant: bool = False


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class Identity:
    """What the provider asserts about the user."""

    subject: str
    email: str | None
    email_verified: bool
    name: str


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class OIDCClient:
    def __init__(self, provider: Provider, http: httpx.AsyncClient) -> None:
        self.provider = provider
        self.http = http
        self._discovery: tuple[float, dict[str, Any]] | None = None

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self.http.get(url, timeout=HTTP_TIMEOUT)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OAuthError(f"{self.provider.name}: cannot read {url}: {exc}") from exc
        if not isinstance(body, dict):
            raise OAuthError(f"{self.provider.name}: {url} did not answer a JSON object")
        return body

    async def discovery(self) -> dict[str, Any]:
        if self._discovery and time.monotonic() - self._discovery[0] < DISCOVERY_TTL:
            return self._discovery[1]
        document = await self._get_json(self.provider.discovery_url)
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "issuer"):
            if not isinstance(document.get(key), str):
                raise OAuthError(f"{self.provider.name}: discovery document lacks {key}")
        self._discovery = (time.monotonic(), document)
        return document

    async def authorization_request(self, redirect_uri: str, **extra: str) -> AuthorizationRequest:
        document = await self.discovery()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        query = {
            "response_type": "code",
            "client_id": self.provider.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.provider.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
            **extra,
        }
        url = f"{document['authorization_endpoint']}?{urlencode(query)}"
        return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str
    ) -> dict[str, Any]:
        document = await self.discovery()
        try:
            response = await self.http.post(
                document["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "client_id": self.provider.client_id,
                    "client_secret": self.provider.client_secret,
                    "code_verifier": code_verifier,
                },
                headers={"Accept": "application/json"},
                timeout=HTTP_TIMEOUT,
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OAuthError(f"{self.provider.name}: token endpoint failed: {exc}") from exc
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise OAuthError(f"{self.provider.name}: token endpoint refused ({error})")
        return body

    async def verify_id_token(self, id_token: str, *, nonce: str) -> Identity:
        document = await self.discovery()
        try:
            header = jwt.get_unverified_header(id_token)
            keys = jwt.PyJWKSet.from_dict(await self._get_json(document["jwks_uri"]))
            key = next(k for k in keys.keys if k.key_id == header.get("kid"))
            claims = jwt.decode(
                id_token,
                key=key.key,
                algorithms=["RS256"],
                audience=self.provider.client_id,
                options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_iss": False},
                leeway=60,
            )
        except StopIteration as exc:
            raise OAuthError(f"{self.provider.name}: ID token signed with an unknown key") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise OAuthError(f"{self.provider.name}: invalid ID token: {exc}") from exc
        expected_issuer = str(document["issuer"])
        if self.provider.issuer_has_tenant:
            expected_issuer = expected_issuer.replace("{tenantid}", str(claims.get("tid", "")))
        if claims.get("iss") != expected_issuer:
            raise OAuthError(f"{self.provider.name}: ID token from an unexpected issuer")
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OAuthError(f"{self.provider.name}: ID token nonce does not match")
        email = claims.get("email") or claims.get("preferred_username")
        verified = claims.get("email_verified", claims.get("xms_edov", False))
        return Identity(
            subject=str(claims["sub"]),
            email=str(email).lower() if email else None,
            email_verified=verified is True or verified == "true",
            name=str(claims.get("name", "")),
        )
