"""Signing up in the browser: register, the login waits for the mailed link, verify, sign in."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, quote, urlsplit

from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import Api, wait_for


def test_sign_up_verify_and_sign_in(page: Page, api: Api) -> None:
    email = f"signup-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/mail/inbox")
    page.wait_for_url("**/login?next=*")  # no session: to the sign-in form
    page.get_by_role("link", name="Create an account").click()

    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("I accept the terms of use").check()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("We sent you an email.")).to_be_visible()

    # Before the address is confirmed the server refuses the login (AUTH006), and says why.
    page.get_by_role("link", name="Go to sign-in").click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("button", name="Send the confirmation email again")).to_be_visible()
    expect(page).to_have_url(f"{api.base_url}/login")

    # The mailed token on the client's confirmation page (see the test below for the link).
    wait_for(lambda: api.system_mail.to(email), "the verification mail")
    token = parse_qs(urlsplit(api.verification_link(email)).query)["token"][0]
    page.goto(f"/verify-email?token={quote(token)}")
    expect(page.get_by_text("Your address is confirmed.")).to_be_visible()

    page.get_by_role("link", name="Go to sign-in").click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/mail/inbox")
    expect(page.get_by_text("Add a mail account to get started.")).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()  # the header's user menu

    # The session survives a reload (refresh cookie, access token in memory only).
    page.reload()
    expect(page.get_by_text("Add a mail account to get started.")).to_be_visible()


def test_verification_link_opens_the_confirmation_page(page: Page, api: Api) -> None:
    email = f"link-{uuid.uuid4().hex[:8]}@example.com"
    api.register(email)
    wait_for(lambda: api.system_mail.to(email), "the verification mail")
    page.goto(api.verification_link(email))
    expect(page.get_by_text("Your address is confirmed.")).to_be_visible(timeout=2_000)
