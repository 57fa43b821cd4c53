"""Connecting Gmail and Microsoft 365 mailboxes through OAuth, and keeping their access tokens
fresh, against a fake provider speaking OpenID Connect and RFC 6749 (tests/auth/fake_oidc.py)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from mailmind.account import service, tokens
from mailmind.kit.time import utcnow
from mailmind.models import MailAccount, Notification
from tests.account.test_accounts import _require_sync_task, jobs
from tests.auth.fake_oidc import FakeOIDC
from tests.conftest import (
    app_for,
    assert_error,
    bearer,
    create_user,
    login,
    make_client,
    runtime_with,
)

PUBLIC = "https://mail.example"
ACCOUNTS_PAGE = f"{PUBLIC}/settings/accounts"


@pytest.fixture
def google() -> FakeOIDC:
    return FakeOIDC(base="https://google.example", issuer="https://google.example")


@pytest.fixture
def microsoft() -> FakeOIDC:
    return FakeOIDC(
        base="https://ms.example",
        issuer="https://login.microsoftonline.com/{tenantid}/v2.0",
        rotate_refresh_tokens=True,
    )


@pytest.fixture
async def oauth_runtime(runtime, google, microsoft):
    providers = {"google.example": google, "ms.example": microsoft}

    def route(request: httpx.Request) -> httpx.Response:
        return providers[request.url.host].handle(request)

    rt = runtime_with(
        runtime,
        api_url=PUBLIC,
        google_client_id=google.client_id,
        google_client_secret=SecretStr(google.client_secret),
        google_discovery_url=google.discovery_url,
        microsoft_client_id=microsoft.client_id,
        microsoft_client_secret=SecretStr(microsoft.client_secret),
        microsoft_discovery_url=microsoft.discovery_url,
    )
    rt.http = httpx.AsyncClient(transport=httpx.MockTransport(route))
    yield rt
    await rt.http.aclose()


@pytest.fixture
async def client(oauth_runtime):
    async with make_client(app_for(oauth_runtime)) as c:
        yield c


async def signed_in(client, runtime) -> tuple[Any, dict[str, str]]:
    user = await create_user(runtime)
    return user, bearer((await login(client, user.email))["access_token"])


async def connect(
    client, headers, provider: FakeOIDC, via: str = "google", **claims: Any
) -> httpx.Response:
    start = await client.post(f"/api/accounts/oauth/{via}", headers=headers)
    assert start.status_code == 200, start.text
    granted = provider.authorize(start.json()["authorization_url"], **claims)
    return await client.get(f"/api/auth/callback/{via}", params=granted)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def only_account(runtime) -> MailAccount:
    async with runtime.db.session() as session:
        return (await session.scalars(select(MailAccount))).one()


async def test_the_consent_request_asks_for_mail_scopes_offline_with_pkce(client, oauth_runtime):
    _, headers = await signed_in(client, oauth_runtime)
    google_url = (await client.post("/api/accounts/oauth/google", headers=headers)).json()[
        "authorization_url"
    ]
    query = query_of(google_url)
    assert google_url.startswith("https://google.example/authorize?")
    assert query["scope"] == "https://mail.google.com/ openid email"
    assert (query["access_type"], query["prompt"]) == ("offline", "consent")
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 32
    assert query["redirect_uri"] == f"{PUBLIC}/api/auth/callback/google"

    ms_url = (await client.post("/api/accounts/oauth/microsoft", headers=headers)).json()[
        "authorization_url"
    ]
    assert query_of(ms_url)["scope"] == (
        "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send "
        "offline_access openid email"
    )


async def test_unknown_or_unconfigured_providers_are_auth008(client, runtime, oauth_runtime):
    _, headers = await signed_in(client, oauth_runtime)
    assert_error(await client.post("/api/accounts/oauth/yahoo", headers=headers), 400, "AUTH008")
    async with make_client(app_for(runtime)) as plain:
        _, plain_headers = await signed_in(plain, runtime)
        response = await plain.post("/api/accounts/oauth/google", headers=plain_headers)
    assert_error(response, 400, "AUTH008")
    assert_error(await client.post("/api/accounts/oauth/google"), 401, "AUTH003")


async def test_connecting_gmail_saves_the_account_with_sealed_tokens_and_queues_a_sync(
    client, oauth_runtime, google, caplog
):
    _require_sync_task()
    caplog.set_level(logging.DEBUG)
    user, headers = await signed_in(client, oauth_runtime)
    done = await connect(
        client, headers, google, sub="g-1", email="Mia@Gmail.com", email_verified=True, name="Mia"
    )
    assert done.status_code == 302
    account = await only_account(oauth_runtime)
    assert done.headers["location"] == f"{ACCOUNTS_PAGE}?connected={account.id}"
    assert "set-cookie" not in done.headers  # connecting is not signing in

    assert (account.user_id, account.kind, account.email) == (user.id, "gmail", "mia@gmail.com")
    assert account.display_name == "Mia"
    assert (account.imap_host, account.imap_port, account.imap_security) == (
        "imap.gmail.com",
        993,
        "ssl",
    )
    assert (account.smtp_host, account.smtp_port) == ("smtp.gmail.com", 465)
    (refresh_token,) = google.refresh_tokens
    secret = tokens.open_secret(oauth_runtime, account)
    assert secret == {"access_token": google.access_tokens[-1], "refresh_token": refresh_token}
    assert refresh_token.encode() not in account.secret_ciphertext
    assert timedelta(minutes=55) < account.oauth_token_expires_at - utcnow() <= timedelta(hours=1)
    (job,) = await jobs(oauth_runtime, "mailbox.sync")
    assert job["args"] == {"account_id": str(account.id), "full": False}

    listed = await client.get("/api/accounts", headers=headers)
    (shown,) = listed.json()["items"]
    assert (shown["kind"], shown["auth"], shown["sync_state"]) == ("gmail", "oauth", "pending")
    assert refresh_token not in listed.text
    assert google.access_tokens[-1] not in listed.text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "mail_account_connected" in logged
    assert refresh_token not in logged
    assert google.access_tokens[-1] not in logged


async def test_connecting_microsoft_uses_the_office365_servers(client, oauth_runtime, microsoft):
    _require_sync_task()
    _, headers = await signed_in(client, oauth_runtime)
    done = await connect(
        client,
        headers,
        microsoft,
        via="microsoft",
        sub="m-1",
        tid="tenant-1",
        preferred_username="max@contoso.example",
        name="Max",
    )
    account = await only_account(oauth_runtime)
    assert done.headers["location"] == f"{ACCOUNTS_PAGE}?connected={account.id}"
    assert (account.kind, account.email) == ("microsoft", "max@contoso.example")
    assert (account.imap_host, account.smtp_host, account.smtp_security) == (
        "outlook.office365.com",
        "smtp.office365.com",
        "starttls",
    )


async def test_a_replayed_or_refused_connection_goes_back_with_auth008(
    client, oauth_runtime, google
):
    _require_sync_task()
    _, headers = await signed_in(client, oauth_runtime)
    start = await client.post("/api/accounts/oauth/google", headers=headers)
    granted = google.authorize(
        start.json()["authorization_url"], sub="g-2", email="a@gmail.com", email_verified=True
    )
    first = await client.get("/api/auth/callback/google", params=granted)
    assert "connected=" in first.headers["location"]
    replay = await client.get("/api/auth/callback/google", params=granted)
    # The state is used up: it is no connection any more, and the sign-in flow refuses it.
    assert query_of(replay.headers["location"])["error"] == "AUTH008"

    start = await client.post("/api/accounts/oauth/google", headers=headers)
    state = query_of(start.json()["authorization_url"])["state"]
    denied = await client.get(
        "/api/auth/callback/google", params={"state": state, "error": "access_denied"}
    )
    assert denied.headers["location"] == f"{ACCOUNTS_PAGE}?error=AUTH008"


async def test_without_offline_access_nothing_is_saved(client, oauth_runtime, google, monkeypatch):
    _, headers = await signed_in(client, oauth_runtime)
    monkeypatch.setitem(service.OAUTH_CONNECT_PARAMS, "google", {"prompt": "consent"})
    done = await connect(client, headers, google, sub="g-3", email="b@gmail.com")
    assert done.headers["location"] == f"{ACCOUNTS_PAGE}?error=AUTH008"
    async with oauth_runtime.db.session() as session:
        assert (await session.scalars(select(MailAccount))).first() is None


async def test_reconnecting_revives_an_auth_required_account(client, oauth_runtime, google):
    _require_sync_task()
    _, headers = await signed_in(client, oauth_runtime)
    await connect(client, headers, google, sub="g-4", email="c@gmail.com")
    account = await only_account(oauth_runtime)
    async with oauth_runtime.db.session() as session:
        await session.execute(
            update(MailAccount)
            .where(MailAccount.id == account.id)
            .values(sync_state="auth_required", sync_error="revoked")
        )
    await connect(client, headers, google, sub="g-4", email="c@gmail.com")
    again = await only_account(oauth_runtime)
    assert again.id == account.id
    assert (again.sync_state, again.sync_error) == ("pending", None)
    assert tokens.open_secret(oauth_runtime, again)["access_token"] == google.access_tokens[-1]


async def expire_soon(runtime, account_id: uuid.UUID, minutes: float) -> None:
    async with runtime.db.session() as session:
        await session.execute(
            update(MailAccount)
            .where(MailAccount.id == account_id)
            .values(oauth_token_expires_at=utcnow() + timedelta(minutes=minutes))
        )


async def test_a_fresh_token_is_used_as_is(client, oauth_runtime, google):
    _require_sync_task()
    _, headers = await signed_in(client, oauth_runtime)
    await connect(client, headers, google, sub="g-5", email="d@gmail.com")
    account = await only_account(oauth_runtime)
    await expire_soon(oauth_runtime, account.id, 6)
    posts = google.requests.count("POST /token")
    async with oauth_runtime.db.session() as session:
        stored = await session.get(MailAccount, account.id)
        imap, smtp = await service.connection_configs(session, oauth_runtime, stored)
    assert google.requests.count("POST /token") == posts
    assert imap.access_token == smtp.access_token == google.access_tokens[-1]
    assert imap.password is None
    assert imap.username == "d@gmail.com"


async def test_a_token_expiring_within_five_minutes_is_refreshed_and_stored(
    client, oauth_runtime, google
):
    _require_sync_task()
    _, headers = await signed_in(client, oauth_runtime)
    await connect(client, headers, google, sub="g-6", email="e@gmail.com")
    account = await only_account(oauth_runtime)
    (refresh_token,) = google.refresh_tokens
    await expire_soon(oauth_runtime, account.id, 4)
    async with oauth_runtime.db.session() as session:
        stored = await session.get(MailAccount, account.id)
        token = await tokens.access_token(session, oauth_runtime, stored)
    assert token == google.access_tokens[-1]
    refreshed = await only_account(oauth_runtime)
    assert tokens.open_secret(oauth_runtime, refreshed) == {
        "access_token": token,
        "refresh_token": refresh_token,  # Google keeps the refresh token
    }
    assert refreshed.oauth_token_expires_at - utcnow() > timedelta(minutes=55)


async def test_a_rotated_refresh_token_replaces_the_old_one(client, oauth_runtime, microsoft):
    _require_sync_task()
    _, headers = await signed_in(client, oauth_runtime)
    await connect(
        client, headers, microsoft, via="microsoft", sub="m-2", tid="t", email="f@contoso.example"
    )
    account = await only_account(oauth_runtime)
    (old,) = microsoft.refresh_tokens
    await expire_soon(oauth_runtime, account.id, -1)
    async with oauth_runtime.db.session() as session:
        stored = await session.get(MailAccount, account.id)
        await tokens.access_token(session, oauth_runtime, stored)
    (new,) = microsoft.refresh_tokens
    assert new != old
    secret = tokens.open_secret(oauth_runtime, await only_account(oauth_runtime))
    assert secret["refresh_token"] == new


async def test_a_refused_refresh_marks_the_account_auth_required(client, oauth_runtime, google):
    _require_sync_task()
    user, headers = await signed_in(client, oauth_runtime)
    await connect(client, headers, google, sub="g-7", email="g@gmail.com")
    account = await only_account(oauth_runtime)
    google.revoke_refresh_tokens()
    await expire_soon(oauth_runtime, account.id, 1)
    with pytest.raises(tokens.OAuthTokenError) as failure:
        # The caller's transaction fails; the auth_required state must survive it.
        async with oauth_runtime.db.session() as session:
            stored = await session.get(MailAccount, account.id)
            await service.connection_configs(session, oauth_runtime, stored)
    assert failure.value.reason == "auth"
    assert failure.value.transient is False
    marked = await only_account(oauth_runtime)
    assert marked.sync_state == "auth_required"
    assert "connect the account again" in marked.sync_error
    async with oauth_runtime.db.session() as session:
        notes = (await session.scalars(select(Notification))).all()
    assert [(n.type, n.user_id) for n in notes] == [("sync_error", user.id)]
    shown = (await client.get(f"/api/accounts/{account.id}", headers=headers)).json()
    assert shown["sync_state"] == "auth_required"


async def test_an_unreachable_provider_is_a_transient_failure(client, oauth_runtime, google):
    _require_sync_task()
    _, headers = await signed_in(client, oauth_runtime)
    await connect(client, headers, google, sub="g-8", email="h@gmail.com")
    account = await only_account(oauth_runtime)
    await expire_soon(oauth_runtime, account.id, 1)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    await oauth_runtime.http.aclose()
    oauth_runtime.http = httpx.AsyncClient(transport=httpx.MockTransport(down))
    oauth_runtime.oidc_clients.clear()
    async with oauth_runtime.db.session() as session:
        stored = await session.get(MailAccount, account.id)
        with pytest.raises(tokens.OAuthTokenError) as failure:
            await tokens.access_token(session, oauth_runtime, stored)
    assert failure.value.transient is True
    assert (await only_account(oauth_runtime)).sync_state == "pending"
