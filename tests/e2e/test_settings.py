"""Settings in the browser: switching the language to German."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Api, sign_in, wait_for


def test_switching_to_german_changes_the_ui_and_sticks(page: Page, api: Api) -> None:
    user = api.new_user()
    sign_in(page, user)
    expect(page.get_by_role("button", name="Compose")).to_be_visible()
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Language").select_option("de")

    expect(page.get_by_role("heading", name="Einstellungen", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Verfassen")).to_be_visible()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "de")

    # The choice is the user's profile setting (system mails use it too) …
    wait_for(lambda: api.get(user, "/api/auth/me")["language"] == "de", "language=de on /me")
    # … so it survives a reload, and the mail views speak German as well.
    page.goto("/mail/inbox")
    expect(page.get_by_role("heading", name="Posteingang", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Postfächer")).to_be_visible()
    expect(page.get_by_role("button", name="Verfassen")).to_be_visible()
