"""The main screens at 1440, 1024 and 390 px: axe-core (web/node_modules) finds no serious or
critical violation on any of them, and each is saved as a screenshot to
tests/e2e/screenshots/<screen>-<width>.png for people to look at."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AXE, SCREENSHOTS, Api, Mailbox, User, row, sign_in
from tests.mailservers import DovecotServer
from tests.submission import SubmissionServer

HEIGHTS = {1440: 900, 1024: 768, 390: 844}
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def reader(api: Api, dovecot: DovecotServer, submission: SubmissionServer) -> User:
    """A user whose inbox holds a few messages, one of them HTML."""
    login = dovecot.add_user()
    submission.logins[login.username] = login.password
    mailbox = Mailbox(dovecot, submission, login)
    mailbox.deliver("Team offsite agenda", sender="Grace Hopper <grace@example.net>")
    mailbox.deliver("Your invoice for November", sender="Billing <billing@example.net>")
    mailbox.deliver(
        "Release notes 2.4",
        sender="Ada Lovelace <ada@example.net>",
        html="<h1>Release 2.4</h1><p>What changed:</p><ul><li>Faster sync</li>"
        "<li>German translation</li></ul><p><a href='https://example.net/notes'>Details</a></p>",
    )
    user = api.new_user()
    api.add_account(user, mailbox)
    api.wait_for_emails(user, 3, folder_role="inbox")
    return user


def check_accessibility(page: Page, screen: str) -> None:
    """axe-core on the page as it is; the mail's own (sandboxed, script-less) frame is left out."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())  # evaluated, not a <script>: the app's CSP allows none
    results: dict[str, Any] = page.evaluate(
        "axe.run(document, {iframes: false, resultTypes: ['violations']})"
    )
    blocking = [v for v in results["violations"] if v["impact"] in BLOCKING]
    report = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    {node['target']}: {node['failureSummary']}" for node in v["nodes"][:5])
        for v in blocking
    )
    assert not blocking, f"axe on {screen}:\n{report}"


def capture(page: Page, screen: str, width: int) -> None:
    """Save the screenshot; nothing may stick out sideways (a horizontal scroll bar of the page;
    a row meant to scroll sideways, with ``overflow-x: auto``, keeps its overflow to itself)."""
    overflow = page.evaluate(
        """(() => {
          const scrolls = (e) => {
            for (let p = e.parentElement; p; p = p.parentElement) {
              const x = getComputedStyle(p).overflowX;
              if ((x === "auto" || x === "scroll") && p.getBoundingClientRect().right <= innerWidth + 1)
                return true;
            }
            return false;
          };
          const out = Array.from(document.querySelectorAll("body *")).filter(
            (e) => e.getBoundingClientRect().right > innerWidth + 1 && !scrolls(e));
          return [document.documentElement.scrollWidth,
                  ...out.slice(0, 5).map((e) => e.tagName + "." + e.className)];
        })()"""
    )
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{screen}-{width}.png", full_page=True)
    assert overflow[0] <= width and not overflow[1:], (
        f"{screen} at {width} px overflows: {overflow}"
    )


@pytest.mark.parametrize("width", [1440, 1024, 390])
def test_main_screens(page: Page, reader: User, width: int) -> None:
    page.set_viewport_size({"width": width, "height": HEIGHTS[width]})

    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    check_accessibility(page, f"login at {width} px")
    capture(page, "login", width)

    sign_in(page, reader)
    expect(row(page, "Release notes 2.4")).to_be_visible()
    check_accessibility(page, f"inbox at {width} px")
    row(page, "Release notes 2.4").click()
    message = page.get_by_role("region", name="Message", exact=True)
    body = message.locator("iframe.mail-frame").content_frame
    expect(body.get_by_text("Faster sync")).to_be_visible()
    check_accessibility(page, f"reader at {width} px")
    capture(page, "inbox-reader", width)

    search = page.get_by_role("searchbox", name="Search mail")
    search.fill("release")
    search.press("Enter")
    results = page.get_by_role("listbox", name="Search results")
    expect(results.get_by_role("option").filter(has_text="Release notes 2.4")).to_be_visible()
    check_accessibility(page, f"search results at {width} px")
    capture(page, "search", width)

    page.get_by_role("link", name="Ask", exact=True).click()
    question = page.get_by_label("Your question")
    question.fill("What changed in release 2.4?")
    question.press("Enter")
    answer = page.get_by_role("region", name="Answer")
    expect(answer.get_by_role("link").filter(has_text="Release notes 2.4")).to_be_visible()
    check_accessibility(page, f"ask at {width} px")
    capture(page, "ask", width)

    page.get_by_role("button", name="Compose").click()
    dialog = page.get_by_role("dialog", name="New message")
    expect(dialog).to_be_visible()
    dialog.get_by_label("To").fill("grace@example.net")
    dialog.get_by_label("Subject").fill("Offsite")
    dialog.get_by_label("Message").fill("See you there.")
    check_accessibility(page, f"composer at {width} px")
    capture(page, "compose", width)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    check_accessibility(page, f"settings at {width} px")
    capture(page, "settings", width)

    page.get_by_role("link", name="Accounts").click()
    page.goto("/settings/accounts/new")
    expect(page.get_by_role("heading", name="Add a mail account")).to_be_visible()
    check_accessibility(page, f"add account at {width} px")
    capture(page, "add-account", width)
