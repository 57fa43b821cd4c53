"""Sign-in with Google and Microsoft against a fake provider speaking OpenID Connect."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from mailmind.models import OAuthIdentity, SecurityEvent
from tests.auth.fake_oidc import FakeOIDC
from tests.conftest import PASSWORD, app_for, bearer, create_user, make_client, runtime_with

PUBLIC = "https://mail.example"


@pytest.fixture
def google():
    return FakeOIDC()


@pytest.fixture
async def oauth_runtime(runtime, google):
    http = httpx.AsyncClient(transport=google.transport())
    rt = runtime_with(
        runtime,
        api_url=PUBLIC,
        google_client_id=google.client_id,
        google_client_secret=SecretStr(google.client_secret),
        google_discovery_url=google.discovery_url,
    )
    rt.http = http
    yield rt
    await http.aclose()


@pytest.fixture
async def client(oauth_runtime):
    async with make_client(app_for(oauth_runtime)) as c:
        yield c


async def sign_in(client, provider: FakeOIDC, via="google", **claims) -> httpx.Response:
    start = await client.get(f"/api/auth/login/{via}")
    assert start.status_code == 302
    granted = provider.authorize(start.headers["location"], **claims)
    return await client.get(f"/api/auth/callback/{via}", params=granted)


def error_of(response: httpx.Response) -> str | None:
    location = response.headers["location"]
    return parse_qs(urlsplit(location).query).get("error", [None])[0]


async def test_new_google_user_signs_in_and_gets_a_session(client, google, oauth_runtime):
    done = await sign_in(
        client, google, sub="g-1", email="Greta@Example.com", email_verified=True, name="Greta"
    )
    assert done.status_code == 302
    assert done.headers["location"] == f"{PUBLIC}/auth/complete"
    assert "token" not in done.headers["location"]
    refreshed = await client.post("/api/auth/refresh")
    assert refreshed.status_code == 200
    me = (await client.get("/api/auth/me", headers=bearer(refreshed.json()["access_token"]))).json()
    assert me["email"] == "greta@example.com"
    assert me["email_verified"] is True
    assert me["full_name"] == "Greta"


async def test_the_request_uses_pkce_state_and_nonce(client, google):
    start = await client.get("/api/auth/login/google")
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["redirect_uri"] == [f"{PUBLIC}/api/auth/callback/google"]
    assert query["scope"] == ["openid email profile"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32
    assert len(query["nonce"][0]) >= 32


async def test_verified_address_links_to_the_existing_user(client, google, oauth_runtime):
    user = await create_user(oauth_runtime, "link@example.com")
    await sign_in(client, google, sub="g-2", email="link@example.com", email_verified=True)
    async with oauth_runtime.db.session() as session:
        identity = (await session.execute(select(OAuthIdentity))).scalar_one()
        events = [e.type for e in (await session.execute(select(SecurityEvent))).scalars()]
    assert identity.user_id == user.id
    assert "oauth_linked" in events
    # The same password still works, and the next Google sign-in finds the link by subject.
    login = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert login.status_code == 200
    again = await sign_in(
        client, google, sub="g-2", email="changed@example.com", email_verified=True
    )
    assert again.headers["location"] == f"{PUBLIC}/auth/complete"


async def test_unverified_address_never_links_to_an_existing_user(client, google, oauth_runtime):
    await create_user(oauth_runtime, "victim@example.com")
    response = await sign_in(
        client, google, sub="g-3", email="victim@example.com", email_verified=False
    )
    assert error_of(response) == "AUTH008"
    async with oauth_runtime.db.session() as session:
        assert (await session.execute(select(OAuthIdentity))).first() is None


async def test_replayed_or_forged_state_is_refused(client, google):
    start = await client.get("/api/auth/login/google")
    granted = google.authorize(
        start.headers["location"], sub="g-4", email="r@example.com", email_verified=True
    )
    first = await client.get("/api/auth/callback/google", params=granted)
    assert first.headers["location"].endswith("/auth/complete")
    replay = await client.get("/api/auth/callback/google", params=granted)
    assert error_of(replay) == "AUTH008"
    forged = await client.get("/api/auth/callback/google", params={"code": "x", "state": "forged"})
    assert error_of(forged) == "AUTH008"


async def test_wrong_nonce_is_refused(client, google):
    google.wrong_nonce = True
    response = await sign_in(client, google, sub="g-5", email="n@example.com", email_verified=True)
    assert error_of(response) == "AUTH008"


async def test_provider_error_and_unconfigured_provider_go_to_login_with_auth008(client, google):
    start = await client.get("/api/auth/login/google")
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    denied = await client.get(
        "/api/auth/callback/google", params={"state": state, "error": "access_denied"}
    )
    assert error_of(denied) == "AUTH008"
    unconfigured = await client.get("/api/auth/login/microsoft")
    assert error_of(unconfigured) == "AUTH008"
    unknown = await client.get("/api/auth/login/yahoo")
    assert unknown.status_code == 400


async def test_microsoft_multi_tenant_issuer(runtime):
    ms = FakeOIDC(issuer="https://login.microsoftonline.com/{tenantid}/v2.0")
    http = httpx.AsyncClient(transport=ms.transport())
    rt = runtime_with(
        runtime,
        api_url=PUBLIC,
        microsoft_client_id=ms.client_id,
        microsoft_client_secret=SecretStr(ms.client_secret),
        microsoft_discovery_url=ms.discovery_url,
    )
    rt.http = http
    async with make_client(app_for(rt)) as client:
        done = await sign_in(
            client,
            ms,
            via="microsoft",
            sub="m-1",
            tid="tenant-42",
            email="max@contoso.example",
            xms_edov=True,
            name="Max",
        )
        assert done.headers["location"] == f"{PUBLIC}/auth/complete"
    await http.aclose()


async def test_oauth_only_users_cannot_log_in_with_a_password(client, google):
    await sign_in(client, google, sub="g-6", email="oauth@example.com", email_verified=True)
    response = await client.post(
        "/api/auth/login", json={"email": "oauth@example.com", "password": PASSWORD}
    )
    assert response.json()["error"]["code"] == "AUTH001"
