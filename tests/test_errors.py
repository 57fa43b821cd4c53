"""Every error answers with the spec body and the canonical code (PRODUCT_SPEC §5)."""

from __future__ import annotations

import pytest
from fastapi import APIRouter

from tests.conftest import assert_error, make_client


async def test_malformed_json_is_val002(client):
    response = await client.post(
        "/api/auth/login",
        content=b'{"email": "a@b.c", ',
        headers={"content-type": "application/json"},
    )
    assert_error(response, 400, "VAL002")


async def test_missing_field_is_val001_naming_the_field(client):
    error = assert_error(
        await client.post("/api/auth/login", json={"email": "a@b.c"}), 400, "VAL001"
    )
    assert error["details"]["field"] == "password"


async def test_wrong_type_is_val002(client):
    response = await client.post("/api/auth/login", json={"email": 5, "password": ["x"]})
    assert_error(response, 400, "VAL002")


async def test_body_that_is_not_an_object_is_val002(client):
    assert_error(await client.post("/api/auth/login", json=[1, 2]), 400, "VAL002")


async def test_out_of_range_query_is_val003(client, runtime):
    from tests.conftest import bearer, create_user, login

    user = await create_user(runtime, admin=True)
    token = (await login(client, user.email))["access_token"]
    response = await client.get("/api/admin/users?limit=1000", headers=bearer(token))
    assert_error(response, 400, "VAL003")


async def test_unknown_field_is_rejected(client):
    response = await client.post(
        "/api/auth/login", json={"email": "a@b.c", "password": "x", "is_admin": True}
    )
    assert_error(response, 400, "VAL002")


async def test_unknown_route_is_res001(client):
    assert_error(await client.get("/api/does-not-exist"), 404, "RES001")


async def test_wrong_method_is_405_with_allow(client):
    response = await client.delete("/api/auth/login")
    error = assert_error(response, 405, "RES001")
    assert "POST" in response.headers["allow"]
    assert "POST" in error["details"]["allowed"]


async def test_body_over_one_megabyte_is_val006(client):
    big = b'{"email": "' + b"a" * (1_100_000) + b'"}'
    response = await client.post(
        "/api/auth/login", content=big, headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "VAL006")


async def test_streamed_body_over_limit_is_val006(client):
    async def chunks():
        for _ in range(40):
            yield b"x" * 65536

    response = await client.post(
        "/api/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "VAL006")


async def test_unauthenticated_is_auth003(client):
    assert_error(await client.get("/api/auth/me"), 401, "AUTH003")


async def test_garbage_token_is_auth003(client):
    response = await client.get("/api/auth/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert_error(response, 401, "AUTH003")


@pytest.fixture
async def failing_client(settings, runtime):
    from mailmind.app import create_app

    app = create_app(settings, runtime=runtime)
    router = APIRouter()

    @router.get("/api/test-crash")
    async def crash() -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    app.include_router(router)
    async with make_client(app) as c:
        yield c


async def test_internal_error_is_srv001_without_details(failing_client):
    response = await failing_client.get("/api/test-crash")
    assert_error(response, 500, "SRV001")
    assert "secret internal detail" not in response.text
    assert "RuntimeError" not in response.text


async def test_rate_limited_answer_has_retry_after(client, runtime):
    from mailmind.errors import RateLimited

    error = RateLimited("RATE001", 17, details={"limit": "api"})
    assert error.headers == {"Retry-After": "17"}
    assert error.body()["error"]["details"] == {"limit": "api", "retryAfter": 17}


async def test_nul_characters_are_val002_not_a_database_error(client):
    response = await client.post(
        "/api/auth/login", json={"email": "nul\u0000@example.com", "password": "x" * 12}
    )
    assert_error(response, 400, "VAL002")
