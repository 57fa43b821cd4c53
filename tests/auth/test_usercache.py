"""Two API replicas (separate processes' caches, one Redis) always see a user's latest state."""

from __future__ import annotations

from tests.conftest import (
    app_for,
    assert_error,
    bearer,
    create_user,
    login,
    make_client,
    runtime_with,
)


async def test_profile_change_on_one_replica_is_seen_at_once_on_another(runtime):
    user = await create_user(runtime)
    replica_a, replica_b = runtime_with(runtime), runtime_with(runtime)
    async with make_client(app_for(replica_a)) as a, make_client(app_for(replica_b)) as b:
        token = (await login(a, user.email))["access_token"]
        assert (await b.get("/api/auth/me", headers=bearer(token))).json()["full_name"] == ""
        await a.patch("/api/auth/me", headers=bearer(token), json={"full_name": "Neu"})
        assert (await b.get("/api/auth/me", headers=bearer(token))).json()["full_name"] == "Neu"


async def test_demoted_admin_loses_admin_rights_at_once_everywhere(runtime):
    boss = await create_user(runtime, admin=True)
    other = await create_user(runtime, admin=True)
    replica_a, replica_b = runtime_with(runtime), runtime_with(runtime)
    async with make_client(app_for(replica_a)) as a, make_client(app_for(replica_b)) as b:
        boss_token = (await login(a, boss.email))["access_token"]
        other_token = (await login(b, other.email))["access_token"]
        assert (await b.get("/api/admin/users", headers=bearer(other_token))).status_code == 200
        demote = await a.patch(
            f"/api/admin/users/{other.id}", headers=bearer(boss_token), json={"is_admin": False}
        )
        assert demote.status_code == 200
        assert_error(await b.get("/api/admin/users", headers=bearer(other_token)), 403, "AUTH004")


async def test_disabled_user_is_locked_out_everywhere(runtime):
    boss = await create_user(runtime, admin=True)
    user = await create_user(runtime)
    replica_a, replica_b = runtime_with(runtime), runtime_with(runtime)
    async with make_client(app_for(replica_a)) as a, make_client(app_for(replica_b)) as b:
        boss_token = (await login(a, boss.email))["access_token"]
        token = (await login(b, user.email))["access_token"]
        assert (await b.get("/api/auth/me", headers=bearer(token))).status_code == 200
        await a.patch(
            f"/api/admin/users/{user.id}", headers=bearer(boss_token), json={"is_active": False}
        )
        assert_error(await b.get("/api/auth/me", headers=bearer(token)), 401, "AUTH003")
        assert_error(
            await b.post(
                "/api/auth/login",
                json={"email": user.email, "password": "violet-harbour-lantern-42"},
            ),
            400,
            "AUTH005",
        )


async def test_a_rolled_back_change_does_not_touch_the_version(runtime):
    from mailmind.auth.usercache import user_changed, version_key

    user = await create_user(runtime)
    try:
        async with runtime.db.session() as session:
            user_changed(session, runtime.store, user.id)
            raise RuntimeError("the change fails")
    except RuntimeError:
        pass
    assert await runtime.store.get(version_key(user.id)) is None
    async with runtime.db.session() as session:
        user_changed(session, runtime.store, user.id)
    assert await runtime.store.get(version_key(user.id)) is not None


async def test_last_admin_cannot_be_demoted(runtime):
    boss = await create_user(runtime, admin=True)
    async with make_client(app_for(runtime)) as client:
        token = (await login(client, boss.email))["access_token"]
        response = await client.patch(
            f"/api/admin/users/{boss.id}", headers=bearer(token), json={"is_admin": False}
        )
        assert_error(response, 409, "RES003")
