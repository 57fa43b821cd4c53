"""Mail in the browser: adding the Dovecot account through onboarding with the inbox filling
live, reading an HTML message, replying, and triaging by keyboard alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Api, Mailbox, row, sign_in, wait_for


def test_onboarding_adds_the_account_and_the_inbox_fills_live(
    page: Page, api: Api, mailbox: Mailbox
) -> None:
    mailbox.deliver("Welcome aboard")
    mailbox.deliver("Quarterly figures")
    user = api.new_user()
    sign_in(page, user)
    page.get_by_role("link", name="Add an account").click()
    page.wait_for_url("**/settings/accounts/new")

    form = page.locator("form.account-form")
    form.get_by_label("Email address").fill(mailbox.address)
    form.get_by_label("Password or app password").fill(mailbox.login.password)
    form.get_by_label("Name shown in the sidebar").fill("Work")  # the e-mail field loses focus
    # Autodetection (on leaving the address) fills the server fields: wait for it to finish.
    expect(page.get_by_text("Looking up the servers…")).to_have_count(0)
    page.get_by_text("Server settings").click()
    form.get_by_label("User name (if not the address)").fill(mailbox.login.username)
    imap = form.get_by_role("group", name="Incoming mail (IMAP)")
    imap.get_by_label("Server").fill("127.0.0.1")
    imap.get_by_label("Port").fill(str(mailbox.dovecot.imaps_port))
    imap.get_by_label("Encryption").select_option("ssl")
    smtp = form.get_by_role("group", name="Outgoing mail (SMTP)")
    smtp.get_by_label("Server").fill("127.0.0.1")
    smtp.get_by_label("Port").fill(str(mailbox.submission.port))
    smtp.get_by_label("Encryption").select_option("starttls")
    form.get_by_role("button", name="Test and add").click()

    expect(page.get_by_role("heading", name=f"{mailbox.address} was added")).to_be_visible()
    expect(page.get_by_text("Sync complete.")).to_be_visible()
    page.get_by_role("link", name="Go to the inbox").click()
    expect(row(page, "Welcome aboard")).to_be_visible()
    expect(row(page, "Quarterly figures")).to_be_visible()
    expect(page.get_by_role("navigation", name="Mailboxes")).to_contain_text("Work")

    # New mail on the server shows up without a reload (IDLE → sync → new_email over /ws).
    page.evaluate("window.__notReloaded = true")
    mailbox.deliver("Arrived while watching")
    mailbox.deliver("And another one")
    expect(row(page, "Arrived while watching")).to_be_visible()
    expect(row(page, "And another one")).to_be_visible()
    expect(page.get_by_role("option")).to_have_count(4)
    assert page.evaluate("window.__notReloaded") is True
    expect(page.get_by_role("status").filter(has_text="Live updates on")).to_have_count(1)


def test_reading_html_in_the_sandbox_and_replying(page: Page, api: Api, mailbox: Mailbox) -> None:
    message_id = mailbox.deliver(
        "Dinner on Friday",
        text="Shall we meet at eight?",
        html="<p>Shall we meet at <b>eight</b>?</p><ul><li>Bring wine</li></ul>",
    )
    user = api.new_user()
    api.add_account(user, mailbox)
    api.wait_for_emails(user, 1, folder_role="inbox")
    sign_in(page, user)

    row(page, "Dinner on Friday").click()
    reader = page.get_by_role("region", name="Message", exact=True)
    expect(reader.get_by_role("heading", name="Dinner on Friday")).to_be_visible()
    frame = reader.locator("iframe.mail-frame")
    # No scripts and no same-origin access for the mail's document: only popups (links).
    expect(frame).to_have_attribute("sandbox", "allow-popups")
    expect(frame.content_frame.locator("b")).to_have_text("eight")
    expect(frame.content_frame.get_by_text("Bring wine")).to_be_visible()

    # Opening marked it read on the server.
    wait_for(lambda: api.emails(user, is_read=True), "the message marked read")

    reader.get_by_role("button", name="Reply", exact=True).click()
    composer = page.get_by_role("dialog", name="Reply")
    expect(composer.get_by_text("Replying to Ada Lovelace")).to_be_visible()
    composer.get_by_label("Message").fill("Eight is perfect, see you then.")
    composer.get_by_role("button", name="Send", exact=True).click()
    expect(composer).to_have_count(0)
    expect(page.get_by_text("Your message is on its way.")).to_be_visible()

    received = wait_for(lambda: mailbox.submission.received, "the reply at the SMTP server")
    _sender, recipients, reply = received[-1]
    assert recipients == ["ada@example.net"]
    assert parseaddr(str(reply["From"]))[1] == mailbox.address
    assert reply["Subject"] == "Re: Dinner on Friday"
    assert reply["In-Reply-To"] == message_id
    assert "Eight is perfect" in reply.get_body(("plain",)).get_content()

    # The Sent view shows it (the server's Sent copy is synced back).
    page.keyboard.press("g")
    page.keyboard.press("s")
    page.wait_for_url("**/mail/sent")
    expect(row(page, "Re: Dinner on Friday")).to_be_visible()


def test_triage_ten_messages_with_the_keyboard(page: Page, api: Api, mailbox: Mailbox) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    for n in range(1, 11):
        mailbox.deliver(f"Triage {n:02}", date=start + timedelta(minutes=n))
    user = api.new_user()
    api.add_account(user, mailbox)
    api.wait_for_emails(user, 10, folder_role="inbox")
    sign_in(page, user)
    rows = page.get_by_role("option")
    expect(rows).to_have_count(10)
    expect(rows.first).to_contain_text("Triage 10")  # newest first

    def active() -> str:
        return page.locator(".row.active .row-subject").inner_text()

    keys = page.keyboard
    keys.press("s")  # star "Triage 10"
    expect(rows.first.get_by_label("Starred")).to_have_count(1)
    keys.press("j")
    assert active() == "Triage 09"
    keys.press("e")  # archive 09; the next one moves up
    expect(rows).to_have_count(9)
    assert active() == "Triage 08"
    keys.press("#")  # delete 08
    expect(rows).to_have_count(8)
    assert active() == "Triage 07"
    keys.press("j")
    keys.press("x")  # select 06
    keys.press("j")
    keys.press("x")  # select 05
    expect(page.get_by_text("2 selected")).to_be_visible()
    keys.press("e")  # archive both
    expect(rows).to_have_count(6)
    keys.press("k")
    keys.press("k")
    keys.press("j")
    assert active() == "Triage 04"
    keys.press("j")
    keys.press("s")  # star 03
    keys.press("k")
    keys.press("#")  # delete 04
    expect(rows).to_have_count(5)

    def subjects(**filters: object) -> set[str]:
        return {m["subject"] for m in api.emails(user, **filters)}

    folders = api.folders(user)
    expected = {
        "inbox": {"Triage 10", "Triage 07", "Triage 03", "Triage 02", "Triage 01"},
        "archive": {"Triage 09", "Triage 06", "Triage 05"},
        "trash": {"Triage 08", "Triage 04"},
    }
    for role, wanted in expected.items():
        wait_for(
            lambda role=role, wanted=wanted: subjects(folder_id=folders[role]["id"]) == wanted,
            f"{sorted(wanted)} in {role}",
        )
    assert subjects(is_starred=True) == {"Triage 10", "Triage 03"}
    expect(rows).to_have_count(5)  # and the list agrees with the server

    # The moves reached the mail server too (write-back jobs).
    def on_server(folder: str) -> int:
        with mailbox.dovecot.client(mailbox.login) as imap:
            return int(imap.select_folder(folder, readonly=True)[b"EXISTS"])

    wait_for(lambda: on_server("Archive") == 3, "3 messages in Dovecot's Archive")
    wait_for(lambda: on_server("INBOX") == 5, "5 messages left in Dovecot's INBOX")
