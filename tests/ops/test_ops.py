"""/health, /ready, /metrics, security headers, request ids and the production guard."""

from __future__ import annotations

import json
import logging

from mailmind.redis import RedisStore
from tests.conftest import app_for, assert_error, make_client, runtime_with
from tests.services import free_port


async def test_health_has_status_timestamp_version(client):
    body = (await client.get("/health")).json()
    assert body["status"] == "healthy" and body["version"] and body["timestamp"].endswith("Z")


async def test_ready_checks_database_and_redis(client):
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "checks": {
            "database": "ok",
            "redis": "ok",
            "vector_store": "ok",
            "ai_provider": "disabled",
        },
    }


async def test_ready_is_503_when_redis_is_down(runtime):
    down = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    rt = runtime_with(runtime, store=down, redis_configured=True)
    async with make_client(app_for(rt)) as client:
        response = await client.get("/ready")
        assert response.status_code == 503
        assert response.json()["checks"]["redis"] == "down"
        assert response.json()["checks"]["database"] == "ok"
        assert (await client.get("/health")).status_code == 200
        # An authenticated call that needs the store answers SRV002, not a stack trace.
        me = await client.get("/api/auth/me", headers={"Authorization": "Bearer x.y.z"})
        assert me.status_code in {401, 503}
    await down.close()


async def test_ready_is_503_when_the_database_is_down(runtime):
    from mailmind.db import Database

    dead = Database(f"postgresql://nobody@127.0.0.1:{free_port()}/none", pool_size=1)
    async with make_client(app_for(runtime_with(runtime, db=dead))) as client:
        response = await client.get("/ready")
        assert response.status_code == 503
        assert response.json()["checks"]["database"] == "down"
        login = await client.post(
            "/api/auth/login", json={"email": "a@example.com", "password": "whatever-123456"}
        )
        assert_error(login, 500, "SRV006")
    await dead.dispose()


async def test_metrics_count_requests_by_route_template(client):
    await client.get("/api/auth/sessions/00000000-0000-0000-0000-000000000001")
    await client.get("/api/auth/sessions/00000000-0000-0000-0000-000000000002")
    text = (await client.get("/metrics")).text
    assert "http_request_duration_seconds_bucket" in text
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("http_requests_total{")
        and 'route="/api/auth/sessions/{session_id}"' in ln
        and 'method="GET"' in ln
    )
    assert float(line.rsplit(" ", 1)[1]) >= 2
    assert "00000000-0000-0000-0000-000000000001" not in text


async def test_metrics_token_is_required_when_configured(runtime):
    from pydantic import SecretStr

    guarded = runtime_with(runtime, metrics_token=SecretStr("scrape-me"))
    async with make_client(app_for(guarded)) as client:
        assert_error(await client.get("/metrics"), 401, "AUTH003")
        ok = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert ok.status_code == 200


async def test_security_headers_and_csp(client):
    response = await client.get("/health")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-xss-protection"] == "0"
    assert response.headers["content-security-policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob: https:; frame-src 'self' blob:; object-src 'none'; "
        "frame-ancestors 'none'"
    )
    assert "strict-transport-security" not in response.headers  # development
    error = await client.get("/api/nope")
    assert error.headers["x-frame-options"] == "DENY"


async def test_request_id_is_echoed_or_generated_and_logged(client, caplog):
    caplog.set_level(logging.INFO, logger="mailmind.http")
    given = await client.get("/api/auth/me", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/api/auth/me", headers={"X-Request-ID": "bad id with spaces\n"})
    assert len(made.headers["x-request-id"]) == 32
    events = [r.msg for r in caplog.records if r.name == "mailmind.http"]
    assert any(isinstance(e, dict) and e.get("request_id") == "abc-123" for e in events)


async def test_logs_never_contain_passwords_or_tokens(client, runtime, caplog):
    from tests.conftest import PASSWORD, create_user, login

    caplog.set_level(logging.DEBUG)
    user = await create_user(runtime)
    body = await login(client, user.email, include_refresh_token=True)
    await client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    dump = "\n".join(
        json.dumps(r.msg, default=str) if isinstance(r.msg, dict) else str(r.msg)
        for r in caplog.records
    )
    assert PASSWORD not in dump
    assert body["access_token"] not in dump
    assert body["refresh_token"] not in dump


def production_app(runtime):
    return app_for(
        runtime_with(
            runtime, app_env="production", allowed_hosts=["mailmind.test", "*.mailmind.test"]
        )
    )


async def test_production_refuses_unknown_hosts_but_not_probes(runtime):
    import httpx

    transport = httpx.ASGITransport(app=production_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.1.2.3") as probe:
        assert (await probe.get("/health")).status_code == 200
        assert (await probe.get("/ready")).status_code == 200
        assert_error(await probe.get("/api/auth/me"), 400, "VAL002")


async def test_production_redirects_http_to_https_and_sets_hsts(runtime):
    import httpx

    transport = httpx.ASGITransport(app=production_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://mailmind.test") as plain:
        redirect = await plain.get("/api/auth/me?x=1")
        assert redirect.status_code == 301
        assert redirect.headers["location"] == "https://mailmind.test/api/auth/me?x=1"
        post = await plain.post("/api/auth/login", json={})
        assert post.status_code == 308
    async with httpx.AsyncClient(transport=transport, base_url="https://app.mailmind.test") as tls:
        response = await tls.get("/api/auth/me")
        assert_error(response, 401, "AUTH003")
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_metrics_report_jobs_by_queue_and_status(client, runtime):
    from mailmind.jobs.queue import defer
    from tests.conftest import create_user

    user_id = (await create_user(runtime)).id
    async with runtime.db.session() as session:
        await defer(session, "auth.purge_user", user_id=user_id)
        await defer(session, "auth.purge_user", user_id=user_id)
    text = (await client.get("/metrics")).text
    assert 'jobs{queue="default",status="queued"} 2.0' in text
