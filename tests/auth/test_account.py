"""Profile, verification and password reset mails, account deletion (PRODUCT_SPEC §2.1)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from mailmind.models import User
from tests.conftest import (
    PASSWORD,
    assert_error,
    bearer,
    create_user,
    drain_jobs,
    login,
    make_client,
)

NEW_PASSWORD = "granite-meadow-compass-88"


@pytest.fixture
def mail_runtime(settings, runtime, smtp_server):
    """The runtime of a server that has a system SMTP server (verification required)."""
    from pydantic import SecretStr

    with_mail = settings.model_copy(
        update={"system_smtp_url": SecretStr(smtp_server.url), "api_url": "https://mail.example"}
    )
    smtp_server.mailbox.messages.clear()
    return type(runtime)(
        settings=with_mail,
        db=runtime.db,
        store=runtime.store,
        secrets=runtime.secrets,
        redis_configured=True,
    )


@pytest.fixture
async def mail_client(mail_runtime):
    from mailmind.app import create_app

    async with make_client(create_app(mail_runtime.settings, runtime=mail_runtime)) as c:
        yield c


def token_from(message) -> str:
    body = message.get_payload(decode=True).decode()
    url = re.search(r"https://mail\.example\S+", body).group(0)
    return parse_qs(urlsplit(url).query)["token"][0]


async def test_verification_mail_is_sent_and_required_before_login(
    mail_client, mail_runtime, smtp_server
):
    response = await mail_client.post(
        "/api/auth/register",
        json={"email": "vera@example.com", "password": PASSWORD, "full_name": "Vera"},
    )
    assert response.json()["verification_required"] is True
    assert_error(
        await mail_client.post(
            "/api/auth/login", json={"email": "vera@example.com", "password": PASSWORD}
        ),
        400,
        "AUTH006",
    )
    await drain_jobs(mail_runtime)
    [mail] = smtp_server.mailbox.to("vera@example.com")
    assert mail["Subject"] == "Verify your MailMind address"
    token = token_from(mail)
    verified = await mail_client.get(f"/api/auth/verify-email?token={token}")
    assert verified.json() == {"verified": True}
    assert_error(await mail_client.get(f"/api/auth/verify-email?token={token}"), 401, "AUTH003")
    ok = await mail_client.post(
        "/api/auth/login", json={"email": "vera@example.com", "password": PASSWORD}
    )
    assert ok.json()["user"]["email_verified"] is True


async def test_expired_verification_link_is_auth002(mail_client, mail_runtime, smtp_server):
    from sqlalchemy import text

    await mail_client.post(
        "/api/auth/register", json={"email": "late@example.com", "password": PASSWORD}
    )
    await drain_jobs(mail_runtime)
    token = token_from(smtp_server.mailbox.to("late@example.com")[0])
    async with mail_runtime.db.session() as session:
        await session.execute(text("UPDATE user_tokens SET expires_at = now() - interval '1 s'"))
    assert_error(await mail_client.get(f"/api/auth/verify-email?token={token}"), 401, "AUTH002")


async def test_resend_and_forgot_are_silent_and_capped_at_three_a_day(
    mail_client, mail_runtime, smtp_server
):
    user = await create_user(mail_runtime)
    answers = set()
    for _ in range(5):
        response = await mail_client.post("/api/auth/forgot-password", json={"email": user.email})
        answers.add((response.status_code, response.json()["message"]))
    unknown = await mail_client.post(
        "/api/auth/forgot-password", json={"email": "nobody@example.com"}
    )
    answers.add((unknown.status_code, unknown.json()["message"]))
    assert len(answers) == 1 and next(iter(answers))[0] == 200
    await drain_jobs(mail_runtime)
    assert len(smtp_server.mailbox.to(user.email)) == 3


async def test_password_reset_flow_revokes_sessions_and_mails_a_notice(
    mail_client, mail_runtime, smtp_server
):
    user = await create_user(mail_runtime)
    session = await login(mail_client, user.email)
    await mail_client.post("/api/auth/forgot-password", json={"email": user.email})
    await drain_jobs(mail_runtime)
    token = token_from(smtp_server.mailbox.to(user.email)[0])
    check = await mail_client.get(f"/api/auth/verify-reset-token?token={token}")
    assert check.json() == {"valid": True, "email": "u***@example.com"}
    mismatch = await mail_client.post(
        "/api/auth/reset-password",
        json={"token": token, "new_password": NEW_PASSWORD, "confirm_password": "other"},
    )
    assert_error(mismatch, 400, "VAL002")
    weak = await mail_client.post(
        "/api/auth/reset-password",
        json={"token": token, "new_password": "password123", "confirm_password": "password123"},
    )
    assert_error(weak, 400, "VAL005")
    done = await mail_client.post(
        "/api/auth/reset-password",
        json={"token": token, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert done.status_code == 200
    assert_error(
        await mail_client.get("/api/auth/me", headers=bearer(session["access_token"])),
        401,
        "AUTH003",
    )
    again = await mail_client.post(
        "/api/auth/reset-password",
        json={"token": token, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert_error(again, 401, "AUTH003")
    await login(mail_client, user.email, NEW_PASSWORD)
    await drain_jobs(mail_runtime)
    notice = smtp_server.mailbox.to(user.email)[-1]
    assert notice["Subject"] == "Your MailMind password was changed"
    assert "127.0.0.1" in notice.get_payload(decode=True).decode()


async def test_without_system_smtp_the_link_is_logged_and_login_works_unverified(
    client, runtime, caplog
):
    response = await client.post(
        "/api/auth/register", json={"email": "solo@example.com", "password": PASSWORD}
    )
    assert response.json()["verification_required"] is False
    assert (
        await client.post(
            "/api/auth/login", json={"email": "solo@example.com", "password": PASSWORD}
        )
    ).status_code == 200
    caplog.set_level("WARNING")
    await drain_jobs(runtime)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/verify-email?token=" in logged and "/api/auth/verify-email" not in logged


async def test_profile_update_and_validation(client, runtime):
    user = await create_user(runtime)
    token = (await login(client, user.email))["access_token"]
    response = await client.patch(
        "/api/auth/me",
        headers=bearer(token),
        json={"full_name": "Grete Beispiel", "language": "de", "timezone": "Europe/Berlin"},
    )
    assert response.status_code == 200
    assert response.json()["language"] == "de" and response.json()["timezone"] == "Europe/Berlin"
    bad_zone = await client.patch(
        "/api/auth/me", headers=bearer(token), json={"timezone": "Mars/Base"}
    )
    assert_error(bad_zone, 400, "VAL002")
    bad_language = await client.patch(
        "/api/auth/me", headers=bearer(token), json={"language": "xx"}
    )
    assert_error(bad_language, 400, "VAL002")


async def test_password_change_needs_the_current_one_and_ends_other_sessions(client, runtime):
    user = await create_user(runtime)
    here = await login(client, user.email)
    elsewhere = await login(client, user.email)
    wrong = await client.patch(
        "/api/auth/me",
        headers=bearer(here["access_token"]),
        json={"current_password": "not-my-password-000", "new_password": NEW_PASSWORD},
    )
    assert_error(wrong, 401, "AUTH001")
    missing = await client.patch(
        "/api/auth/me", headers=bearer(here["access_token"]), json={"new_password": NEW_PASSWORD}
    )
    assert_error(missing, 400, "VAL001")
    ok = await client.patch(
        "/api/auth/me",
        headers=bearer(here["access_token"]),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert ok.status_code == 200
    assert (
        await client.get("/api/auth/me", headers=bearer(here["access_token"]))
    ).status_code == 200
    assert_error(
        await client.get("/api/auth/me", headers=bearer(elsewhere["access_token"])), 401, "AUTH003"
    )
    await login(client, user.email, NEW_PASSWORD)


async def test_delete_account_disables_at_once_and_a_job_purges_it(client, runtime):
    user = await create_user(runtime)
    token = (await login(client, user.email))["access_token"]
    response = await client.delete("/api/auth/me", headers=bearer(token))
    assert response.status_code == 202
    assert_error(await client.get("/api/auth/me", headers=bearer(token)), 401, "AUTH003")
    assert_error(
        await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD}),
        401,
        "AUTH001",
    )
    await drain_jobs(runtime)
    async with runtime.db.session() as session:
        assert await session.get(User, user.id) is None
