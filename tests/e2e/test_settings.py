"""Settings in the browser: switching the language to German, the AI switches, and signing out
another device."""

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


def test_ai_switches_are_saved_and_stick(page: Page, api: Api) -> None:
    user = api.new_user()  # AI off
    sign_in(page, user)
    page.get_by_role("link", name="Settings").click()
    section = page.get_by_role("region", name="AI", exact=True)
    enabled = section.get_by_label("Use AI features")
    expect(enabled).not_to_be_checked()
    enabled.check()
    wait_for(lambda: api.get(user, "/api/settings")["ai"]["enabled"], "AI on")

    section.get_by_label("Reply suggestions on").uncheck()
    section.get_by_label("Where Categories runs").select_option("local")
    section.get_by_label("Write summaries in").select_option("original")
    section.get_by_label("Local only: never send mail to a remote AI provider").check()

    def saved() -> bool:
        ai = api.get(user, "/api/settings")["ai"]
        return (
            ai["local_only"]
            and ai["summary_language"] == "original"
            and not ai["features"]["suggestions"]["enabled"]
            and ai["features"]["classify"]["provider"] == "local"
        )

    wait_for(saved, "the AI settings on the server")
    page.reload()
    section = page.get_by_role("region", name="AI", exact=True)
    expect(section.get_by_label("Use AI features")).to_be_checked()
    expect(section.get_by_label("Reply suggestions on")).not_to_be_checked()
    expect(
        section.get_by_label("Local only: never send mail to a remote AI provider")
    ).to_be_checked()
    expect(section.get_by_label("Write summaries in")).to_have_value("original")
    # Local only: every feature runs on this server, whatever its own choice.
    expect(section.get_by_text("This server (local only)")).to_have_count(6)

    # On a phone the section fits the screen: nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    section.get_by_label("Local only: never send mail to a remote AI provider").uncheck()
    expect(section.get_by_label("Where Categories runs")).to_have_value("local")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_session_of_another_device_can_be_ended(page: Page, api: Api) -> None:
    user = api.new_user()
    api.login(user.email)  # a second device
    sign_in(page, user)
    page.get_by_role("link", name="Settings").click()
    devices = page.get_by_role("region", name="Signed-in devices")
    expect(devices.get_by_text("This device")).to_have_count(1)
    sessions = devices.get_by_role("listitem")
    count = sessions.count()
    assert count >= 3  # new_user's own sign-in, the second device and this browser
    devices.get_by_role("button", name="End the session on").first.click()
    expect(sessions).to_have_count(count - 1)
    assert len(api.get(user, "/api/auth/sessions")) == count - 1
