"""Login, verification and throttling (PRODUCT_SPEC §2.1)."""

from __future__ import annotations

from sqlalchemy import select

from mailmind.models import SecurityEvent
from tests.conftest import PASSWORD, assert_error, bearer, create_user, login, make_client


async def attempt(client, email, password):
    return await client.post("/api/auth/login", json={"email": email, "password": password})


async def test_login_returns_tokens_user_and_refresh_cookie(client, runtime):
    user = await create_user(runtime)
    response = await attempt(client, user.email, PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert body["user"]["email"] == user.email
    assert "refresh_token" not in body
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("mm_refresh=")
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/api/auth", "Max-Age="):
        assert attribute.lower() in cookie.lower()
    me = await client.get("/api/auth/me", headers=bearer(body["access_token"]))
    assert me.json()["email"] == user.email


async def test_remember_me_false_sets_a_session_cookie(client, runtime):
    user = await create_user(runtime)
    response = await client.post(
        "/api/auth/login",
        json={
            "email": user.email,
            "password": PASSWORD,
            "remember_me": False,
            "include_refresh_token": True,
        },
    )
    assert "max-age" not in response.headers["set-cookie"].lower()
    assert response.json()["refresh_token"]


async def test_unknown_user_and_wrong_password_are_the_same_auth001(client, runtime):
    user = await create_user(runtime)
    unknown = assert_error(await attempt(client, "nobody@example.com", PASSWORD), 401, "AUTH001")
    wrong = assert_error(await attempt(client, user.email, "wrong-password-1234"), 401, "AUTH001")
    assert unknown["message"] == wrong["message"]
    assert unknown["details"] == wrong["details"]


async def test_disabled_user_is_auth005_only_with_the_right_password(client, runtime):
    user = await create_user(runtime)
    async with runtime.db.session() as session:
        stored = await session.get(type(user), user.id)
        stored.is_active = False
    assert_error(await attempt(client, user.email, "wrong-password-1234"), 401, "AUTH001")
    assert_error(await attempt(client, user.email, PASSWORD), 400, "AUTH005")


async def test_sixth_failure_waits_fifteen_minutes_without_checking_the_password(client, runtime):
    user = await create_user(runtime)
    for _ in range(5):
        assert_error(await attempt(client, user.email, "wrong-password-1234"), 401, "AUTH001")
    blocked = await attempt(client, user.email, PASSWORD)  # right password, still blocked
    error = assert_error(blocked, 429, "AUTH007")
    retry_after = int(blocked.headers["retry-after"])
    assert 14 * 60 < retry_after <= 15 * 60
    assert error["details"]["retryAfter"] == retry_after
    async with runtime.db.session() as session:
        types = [e.type for e in (await session.execute(select(SecurityEvent))).scalars()]
    assert types.count("login_failed") == 5
    assert "login_throttled" in types


async def test_a_stranger_cannot_lock_the_owner_out(app, runtime):
    user = await create_user(runtime)
    async with make_client(app, ip="203.0.113.9") as stranger:
        for _ in range(8):
            await attempt(stranger, user.email, "guess-guess-guess-1")
        assert_error(await attempt(stranger, user.email, PASSWORD), 429, "AUTH007")
    async with make_client(app, ip="198.51.100.20") as owner:
        assert (await attempt(owner, user.email, PASSWORD)).status_code == 200


async def test_more_than_twenty_failures_from_one_ip_block_that_ip(app, runtime):
    victim = await create_user(runtime)
    async with make_client(app, ip="203.0.113.50") as attacker:
        for n in range(21):
            await attempt(attacker, f"someone{n}@example.com", "guess-guess-guess-1")
        assert_error(await attempt(attacker, victim.email, PASSWORD), 429, "AUTH007")
    async with make_client(app, ip="198.51.100.21") as owner:
        assert (await attempt(owner, victim.email, PASSWORD)).status_code == 200


async def test_success_resets_the_counter(client, runtime):
    user = await create_user(runtime)
    for _ in range(4):
        await attempt(client, user.email, "wrong-password-1234")
    assert (await attempt(client, user.email, PASSWORD)).status_code == 200
    for _ in range(4):
        assert_error(await attempt(client, user.email, "wrong-password-1234"), 401, "AUTH001")
    assert (await attempt(client, user.email, PASSWORD)).status_code == 200


async def test_admin_unlock_clears_the_block(client, runtime):
    admin = await create_user(runtime, admin=True)
    user = await create_user(runtime)
    admin_token = (await login(client, admin.email))["access_token"]
    async with make_client(client._transport.app, ip="192.0.2.77") as other:
        for _ in range(6):
            await attempt(other, user.email, "wrong-password-1234")
        assert_error(await attempt(other, user.email, PASSWORD), 429, "AUTH007")
        unlock = await client.post(
            f"/api/admin/users/{user.id}/unlock", headers=bearer(admin_token)
        )
        assert unlock.status_code == 204
        assert (await attempt(other, user.email, PASSWORD)).status_code == 200


async def test_unlock_is_admin_only(client, runtime):
    user = await create_user(runtime)
    token = (await login(client, user.email))["access_token"]
    response = await client.post(f"/api/admin/users/{user.id}/unlock", headers=bearer(token))
    assert_error(response, 403, "AUTH004")
