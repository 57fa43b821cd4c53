"""Access tokens, refresh rotation with reuse detection, logout (PRODUCT_SPEC §2.1)."""

from __future__ import annotations

import time

import jwt

from tests.conftest import PASSWORD, assert_error, bearer, create_user, login


async def test_expired_access_token_is_auth002(client, runtime, settings):
    user = await create_user(runtime)
    body = await login(client, user.email)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    claims["exp"] = int(time.time()) - 5
    expired = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
    assert_error(await client.get("/api/auth/me", headers=bearer(expired)), 401, "AUTH002")


async def test_token_signed_with_another_secret_is_auth003(client, runtime):
    user = await create_user(runtime)
    body = await login(client, user.email)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    forged = jwt.encode(claims, "another-secret-another-secret-0123456789", algorithm="HS256")
    assert_error(await client.get("/api/auth/me", headers=bearer(forged)), 401, "AUTH003")


async def test_access_token_carries_sub_sid_jti_exp(client, runtime):
    user = await create_user(runtime)
    claims = jwt.decode(
        (await login(client, user.email))["access_token"], options={"verify_signature": False}
    )
    assert claims["sub"] == str(user.id)
    assert {"sid", "jti", "exp", "iat"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 900


async def test_refresh_with_cookie_rotates_the_cookie(client, runtime):
    user = await create_user(runtime)
    await login(client, user.email)
    old_cookie = client.cookies.get("mm_refresh")
    response = await client.post("/api/auth/refresh")
    assert response.status_code == 200, response.text
    assert "refresh_token" not in response.json()
    new_cookie = client.cookies.get("mm_refresh")
    assert new_cookie and new_cookie != old_cookie
    me = await client.get("/api/auth/me", headers=bearer(response.json()["access_token"]))
    assert me.status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_family(client, runtime):
    user = await create_user(runtime)
    first = await login(client, user.email, include_refresh_token=True)
    client.cookies.clear()
    rotated = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    # The stolen copy of the first token comes back:
    reuse = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_error(reuse, 400, "AUTH009")
    # The legitimate holder's newer token is dead too, and so is the session's access token.
    legit = await client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert_error(legit, 401, "AUTH010")
    me = await client.get("/api/auth/me", headers=bearer(second["access_token"]))
    assert_error(me, 401, "AUTH003")
    # Other sessions of the same user are untouched.
    other = await login(client, user.email)
    assert (
        await client.get("/api/auth/me", headers=bearer(other["access_token"]))
    ).status_code == 200


async def test_unknown_refresh_token_is_auth009(client):
    assert_error(
        await client.post("/api/auth/refresh", json={"refresh_token": "nope"}), 400, "AUTH009"
    )
    assert_error(await client.post("/api/auth/refresh"), 400, "AUTH009")


async def test_logout_revokes_session_and_access_token(client, runtime):
    user = await create_user(runtime)
    body = await login(client, user.email, include_refresh_token=True)
    response = await client.post("/api/auth/logout", headers=bearer(body["access_token"]))
    assert response.status_code == 204
    assert (
        'mm_refresh=""' in response.headers["set-cookie"]
        or "max-age=0" in response.headers["set-cookie"].lower()
    )
    assert_error(
        await client.get("/api/auth/me", headers=bearer(body["access_token"])), 401, "AUTH003"
    )
    client.cookies.clear()
    refresh = await client.post("/api/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert_error(refresh, 401, "AUTH010")


async def test_logout_with_only_the_cookie_ends_that_session(client, runtime):
    user = await create_user(runtime)
    await login(client, user.email)
    cookie = client.cookies.get("mm_refresh")
    assert (await client.post("/api/auth/logout")).status_code == 204
    client.cookies.clear()
    response = await client.post("/api/auth/refresh", json={"refresh_token": cookie})
    assert_error(response, 401, "AUTH010")


async def test_api_rate_limit_is_rate001_per_user(settings, runtime):
    from mailmind.app import create_app
    from tests.conftest import make_client

    limited = settings.model_copy(update={"rate_limit_api": "3/min"})
    rt = type(runtime)(
        settings=limited, db=runtime.db, store=runtime.store, secrets=runtime.secrets
    )
    user = await create_user(runtime)
    async with make_client(create_app(limited, runtime=rt)) as client:
        token = (await login(client, user.email, PASSWORD))["access_token"]
        for _ in range(3):
            assert (await client.get("/api/auth/me", headers=bearer(token))).status_code == 200
        response = await client.get("/api/auth/me", headers=bearer(token))
        error = assert_error(response, 429, "RATE001")
        assert error["details"]["limit"] == "api"
        assert int(response.headers["retry-after"]) >= 1


async def test_a_verified_token_still_expires_on_time():
    import asyncio
    import uuid

    import pytest

    from mailmind.auth.tokens import decode_access_token, issue_access_token
    from mailmind.errors import AuthError
    from mailmind.kit.time import utcnow

    secret = "unit-test-secret-unit-test-secret-0123"
    token, claims = issue_access_token(secret, user_id=uuid.uuid4(), session_id=uuid.uuid4(), ttl=3)
    decode_access_token(secret, token)
    decode_access_token(secret, token)  # served from the cache of verified tokens
    await asyncio.sleep((claims.expires_at - utcnow()).total_seconds() + 0.1)
    with pytest.raises(AuthError) as info:
        decode_access_token(secret, token)
    assert info.value.code == "AUTH002"
    with pytest.raises(AuthError) as info:
        decode_access_token("another-secret-another-secret-0123456", token)
    assert info.value.code in {"AUTH002", "AUTH003"}
