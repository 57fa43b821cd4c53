"""GET/PATCH /api/settings."""

from __future__ import annotations

import pytest

from tests.assistant.conftest import Env
from tests.conftest import assert_error


async def test_defaults(env: Env):
    response = await env.client.get("/api/settings", headers=env.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "en" and body["timezone"] == "UTC"
    assert (body["theme"], body["mark_read"], body["shortcuts_enabled"]) == (
        "auto",
        "after_2s",
        True,
    )
    assert body["notifications"]["high_priority"] is True
    ai = body["ai"]
    assert (ai["enabled"], ai["local_only"], ai["summary_language"]) == (True, False, "ui")
    assert set(ai["features"]) == {"classify", "priority", "tags", "summary", "suggestions", "ask"}
    assert ai["features"]["summary"] == {"enabled": True, "provider": "auto"}


async def test_partial_update_merges_and_round_trips(env: Env):
    response = await env.client.patch(
        "/api/settings",
        json={
            "language": "de",
            "timezone": "Europe/Berlin",
            "theme": "dark",
            "notifications": {"quiet_hours": {"enabled": True, "start": "21:30"}},
            "ai": {"local_only": True, "features": {"summary": {"provider": "local"}}},
        },
        headers=env.headers,
    )
    assert response.status_code == 200, response.text
    second = await env.client.patch(
        "/api/settings",
        json={"ai": {"features": {"tags": {"enabled": False}}}},
        headers=env.headers,
    )
    assert second.status_code == 200
    body = (await env.client.get("/api/settings", headers=env.headers)).json()
    assert (body["language"], body["timezone"], body["theme"]) == ("de", "Europe/Berlin", "dark")
    assert body["notifications"]["quiet_hours"] == {
        "enabled": True,
        "start": "21:30",
        "end": "07:00",
    }
    assert body["ai"]["local_only"] is True
    assert body["ai"]["features"]["summary"] == {"enabled": True, "provider": "local"}
    assert body["ai"]["features"]["tags"] == {"enabled": False, "provider": "auto"}
    assert body["ai"]["features"]["classify"] == {"enabled": True, "provider": "auto"}
    # The profile shows the same language.
    me = (await env.client.get("/api/auth/me", headers=env.headers)).json()
    assert me["language"] == "de"


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"theme": "purple"}, "VAL002"),
        ({"timezone": "Mars/Olympus"}, "VAL002"),
        ({"ai": {"features": {"horoscope": {"enabled": True}}}}, "VAL002"),
        ({"ai": {"features": {"summary": {"provider": "cloud"}}}}, "VAL002"),
        ({"notifications": {"quiet_hours": {"start": "25:00"}}}, "VAL002"),
        ({"colour": "blue"}, "VAL002"),
        ({"mark_read": 5}, "VAL002"),
    ],
)
async def test_invalid_values_are_val002(env: Env, patch: dict, code: str):
    response = await env.client.patch("/api/settings", json=patch, headers=env.headers)
    assert_error(response, 400, code)
    body = (await env.client.get("/api/settings", headers=env.headers)).json()
    assert body["theme"] == "auto" and body["timezone"] == "UTC"


async def test_settings_need_a_token(env: Env):
    assert_error(await env.client.get("/api/settings"), 401, "AUTH003")
