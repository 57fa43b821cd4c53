"""Sessions: list and revoke, never another user's (PRODUCT_SPEC §2.1)."""

from __future__ import annotations

from tests.conftest import assert_error, bearer, create_user, login


async def test_sessions_list_marks_the_current_one(client, runtime):
    user = await create_user(runtime)
    first = await login(client, user.email)
    second = await login(client, user.email)
    response = await client.get("/api/auth/sessions", headers=bearer(second["access_token"]))
    sessions = response.json()
    assert len(sessions) == 2
    assert sum(s["current"] for s in sessions) == 1
    assert {s["ip"] for s in sessions} == {"127.0.0.1"}
    assert first["access_token"] != second["access_token"]


async def test_a_user_cannot_see_or_revoke_another_users_sessions(client, runtime):
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    alice_token = (await login(client, alice.email))["access_token"]
    bob_token = (await login(client, bob.email))["access_token"]
    bob_sessions = (await client.get("/api/auth/sessions", headers=bearer(bob_token))).json()
    alice_sessions = (await client.get("/api/auth/sessions", headers=bearer(alice_token))).json()
    assert {s["id"] for s in alice_sessions}.isdisjoint({s["id"] for s in bob_sessions})
    response = await client.delete(
        f"/api/auth/sessions/{bob_sessions[0]['id']}", headers=bearer(alice_token)
    )
    assert_error(response, 404, "RES001")
    assert (await client.get("/api/auth/me", headers=bearer(bob_token))).status_code == 200


async def test_revoking_a_session_ends_its_access_token_at_once(client, runtime):
    user = await create_user(runtime)
    laptop = await login(client, user.email)
    phone = await login(client, user.email)
    sessions = (
        await client.get("/api/auth/sessions", headers=bearer(laptop["access_token"]))
    ).json()
    phone_session = next(s for s in sessions if not s["current"])
    response = await client.delete(
        f"/api/auth/sessions/{phone_session['id']}", headers=bearer(laptop["access_token"])
    )
    assert response.status_code == 204
    assert_error(
        await client.get("/api/auth/me", headers=bearer(phone["access_token"])), 401, "AUTH003"
    )
    assert (
        await client.get("/api/auth/me", headers=bearer(laptop["access_token"]))
    ).status_code == 200


async def test_revoke_all_other_sessions(client, runtime):
    user = await create_user(runtime)
    keep = await login(client, user.email)
    others = [await login(client, user.email) for _ in range(2)]
    response = await client.delete("/api/auth/sessions", headers=bearer(keep["access_token"]))
    assert response.status_code == 204
    for other in others:
        assert_error(
            await client.get("/api/auth/me", headers=bearer(other["access_token"])), 401, "AUTH003"
        )
    remaining = (
        await client.get("/api/auth/sessions", headers=bearer(keep["access_token"]))
    ).json()
    assert [s["current"] for s in remaining] == [True]


async def test_unknown_session_id_is_res001_and_bad_id_is_val002(client, runtime):
    user = await create_user(runtime)
    token = (await login(client, user.email))["access_token"]
    missing = "00000000-0000-0000-0000-000000000000"
    assert_error(
        await client.delete(f"/api/auth/sessions/{missing}", headers=bearer(token)), 404, "RES001"
    )
    assert_error(
        await client.delete("/api/auth/sessions/not-a-uuid", headers=bearer(token)), 400, "VAL002"
    )


async def test_security_events_show_the_users_own_recent_events(client, runtime):
    user = await create_user(runtime)
    other = await create_user(runtime)
    await client.post("/api/auth/login", json={"email": user.email, "password": "wrong-pass-1234"})
    await login(client, other.email)
    token = (await login(client, user.email))["access_token"]
    events = (await client.get("/api/auth/security-events", headers=bearer(token))).json()
    assert [e["type"] for e in events] == ["login", "login_failed"]
    assert all(e["ip"] == "127.0.0.1" for e in events)
