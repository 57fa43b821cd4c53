"""A fake OpenID provider speaking the real protocol (discovery, JWKS, token endpoint with PKCE),
served through httpx.MockTransport, with the shapes Google and Microsoft use."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    claims: dict[str, Any]
    scope: str = ""
    # access_type=offline (Google) or the offline_access scope (Microsoft): a refresh token too
    offline: bool = False


@dataclass
class FakeOIDC:
    base: str = "https://idp.example"
    client_id: str = "client-123"
    client_secret: str = "secret-456"
    issuer: str = "https://idp.example"
    kid: str = "key-1"
    grants: dict[str, Grant] = field(default_factory=dict)
    wrong_nonce: bool = False
    requests: list[str] = field(default_factory=list)
    # Refresh tokens issued (token -> grant), access tokens issued, and whether a refresh hands
    # out a new refresh token and invalidates the old one (Microsoft does, Google does not).
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    access_tokens: list[str] = field(default_factory=list)
    rotate_refresh_tokens: bool = False
    authorizations: list[dict[str, str]] = field(default_factory=list)

    @property
    def discovery_url(self) -> str:
        return f"{self.base}/.well-known/openid-configuration"

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def authorize(self, authorization_url: str, **claims: Any) -> dict[str, str]:
        """What the provider's login page does: check the request, remember it, issue a code."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        assert query["response_type"] == "code"
        assert query["client_id"] == self.client_id
        assert query["code_challenge_method"] == "S256"
        assert "openid" in query["scope"].split()
        code = secrets.token_urlsafe(16)
        self.authorizations.append(query)
        self.grants[code] = Grant(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            challenge=query["code_challenge"],
            nonce=query["nonce"],
            claims=claims,
            scope=query["scope"],
            offline=query.get("access_type") == "offline"
            or "offline_access" in query["scope"].split(),
        )
        return {"code": code, "state": query["state"]}

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.base}/authorize",
                    "token_endpoint": f"{self.base}/token",
                    "jwks_uri": f"{self.base}/keys",
                    "response_types_supported": ["code"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                },
            )
        if path == "/keys":
            jwk = json.loads(RSAAlgorithm.to_jwk(_KEY.public_key()))
            jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
            return httpx.Response(200, json={"keys": [jwk]})
        if path == "/token" and request.method == "POST":
            return self._token(request)
        return httpx.Response(404, json={"error": "not_found"})

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("grant_type") == "refresh_token":
            return self._refresh(form)
        grant = self.grants.pop(form.get("code", ""), None)
        if grant is None:
            return httpx.Response(400, json={"error": "invalid_grant"})
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return httpx.Response(401, json={"error": "invalid_client"})
        if form.get("redirect_uri") != grant.redirect_uri:
            return httpx.Response(400, json={"error": "invalid_grant"})
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.decode().rstrip("=") != grant.challenge:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "PKCE"})
        now = int(time.time())
        claims = {
            "iss": self.issuer.replace("{tenantid}", str(grant.claims.get("tid", ""))),
            "aud": self.client_id,
            "iat": now,
            "exp": now + 3600,
            "nonce": "not-the-nonce" if self.wrong_nonce else grant.nonce,
            **grant.claims,
        }
        id_token = jwt.encode(claims, _KEY, algorithm="RS256", headers={"kid": self.kid})
        access_token = secrets.token_urlsafe(16)
        self.access_tokens.append(access_token)
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3599,
            "id_token": id_token,
            "scope": grant.scope or "openid email profile",
        }
        if grant.offline:
            body["refresh_token"] = refresh_token = secrets.token_urlsafe(24)
            self.refresh_tokens[refresh_token] = grant
        return httpx.Response(200, json=body)

    def _refresh(self, form: dict[str, str]) -> httpx.Response:
        """RFC 6749 §6: a refresh token buys a new access token (and, when rotating, a new
        refresh token that replaces it)."""
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return httpx.Response(401, json={"error": "invalid_client"})
        token = form.get("refresh_token", "")
        grant = self.refresh_tokens.get(token)
        if grant is None:
            return httpx.Response(
                400, json={"error": "invalid_grant", "error_description": "Token has been revoked"}
            )
        access_token = secrets.token_urlsafe(16)
        self.access_tokens.append(access_token)
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3599,
            "scope": grant.scope,
        }
        if self.rotate_refresh_tokens:
            del self.refresh_tokens[token]
            body["refresh_token"] = new_token = secrets.token_urlsafe(24)
            self.refresh_tokens[new_token] = grant
        return httpx.Response(200, json=body)

    def revoke_refresh_tokens(self) -> None:
        """What a user revoking the app's access does: every refresh token stops working."""
        self.refresh_tokens.clear()
