"""The reading pane's AI panel, snooze and the composer's drafts in the browser: a delivered
message goes through the local pipeline, the reader shows its summary, category and the reasons
for its priority, a corrected category sticks; a snoozed message leaves the inbox for the Snoozed
view and comes back; a draft saves itself, resumes from Drafts and is scheduled, then cancelled."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Api, Mailbox, User, row, sign_in, wait_for

# The first mail of a run loads the local embedding model; two busy cores take their time.
PIPELINE_TIMEOUT = 300

CONTRACT_TEXT = """Hello,

the framework contract with ACME Logistics runs out at the end of this month, and their
purchasing team has sent over a renewed draft with new prices for warehousing and transport.
The main changes are a four percent increase on the storage rates, a shorter notice period of
three months instead of six, and a new clause on fuel surcharges that moves with the diesel price.

Legal has already gone through the liability section and is fine with it. Finance would like to
understand whether the fuel surcharge is capped, because last year's figures show that an
uncapped surcharge would have cost us about twelve thousand euros more over the whole year.

Could you please review the attached draft and send me your approval by Friday? If we do not sign
before the end of the month, the current prices lapse and ACME will bill the list prices until the
new contract is in place, which would be considerably more expensive for the next quarter.

I have also asked the operations team to check whether the new delivery windows fit our shift
plan. They will report back on Wednesday, and I will forward their notes as soon as I have them.

Please also confirm whether you want to keep the option for the additional storage area in the
north hall; ACME needs to know this for their capacity planning, and they have said that they
cannot hold the space for us beyond the signing date.

Thank you and best regards,
Grace
"""


def _enable_ai(api: Api, user: User) -> None:
    """On, and local only: this server has no remote provider, and none may be asked."""
    response = api.http.patch(
        "/api/settings",
        json={"ai": {"enabled": True, "local_only": True}},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text


def _processed(api: Api, user: User, subject: str) -> dict[str, Any]:
    """The detail of the message once the pipeline has finished with it."""
    found: dict[str, Any] = {}

    def done() -> bool:
        items = [m for m in api.emails(user, folder_role="inbox") if m["subject"] == subject]
        if not items or items[0]["ai_status"] not in ("done", "partial"):
            return False
        found.update(api.get(user, f"/api/emails/{items[0]['id']}"))
        return True

    wait_for(done, f"the pipeline to process {subject!r}", timeout=PIPELINE_TIMEOUT, interval=2)
    return found


def test_ai_panel_shows_the_results_and_a_corrected_category_sticks(
    page: Page, api: Api, mailbox: Mailbox
) -> None:
    subject = "ACME contract renewal"
    mailbox.deliver(subject, text=CONTRACT_TEXT, sender="Grace Hopper <grace@example.net>")
    user = api.new_user()
    _enable_ai(api, user)
    api.add_account(user, mailbox)
    email = _processed(api, user, subject)
    assert email["summary"], email
    assert email["category"], email
    assert email["priority_reasons"], email

    sign_in(page, user)
    row(page, subject).click()
    reader = page.get_by_role("region", name="Message", exact=True)
    panel = reader.get_by_role("region", name="AI insight")
    expect(panel).to_be_visible()
    expect(panel.locator(".ai-summary")).to_have_text(email["summary"])
    expect(panel.get_by_text("made on this server").first).to_be_visible()
    category = panel.get_by_label("Category")
    expect(category).to_have_value(email["category"])
    expect(panel.get_by_text(f"Priority {email['priority']} of 100")).to_be_visible()
    reasons = panel.get_by_role("list", name="Why this priority")
    expect(reasons.get_by_role("listitem")).to_have_count(len(email["priority_reasons"]))
    # Sent to the mailbox's own address: the reason reads as text, not as its code.
    expect(reasons).to_contain_text("Sent directly to you")
    expect(reasons).not_to_contain_text("direct_recipient")

    # "Why?" lists the logged decisions with who made them.
    panel.get_by_role("button", name="Why?").click()
    why = panel.get_by_role("region", name="How the AI decided")
    expect(why.get_by_text("Category", exact=True).first).to_be_visible()
    expect(why.get_by_text("this server", exact=False).first).to_be_visible()

    corrected = "newsletter" if email["category"] != "newsletter" else "work"
    category.select_option(corrected)
    expect(category).to_have_value(corrected)
    wait_for(
        lambda: api.get(user, f"/api/emails/{email['id']}")["category"] == corrected,
        "the corrected category on the server",
    )
    feedback = api.get(user, "/api/ai/feedback")["items"]
    assert any(f["email_id"] == email["id"] and f["new"] == corrected for f in feedback), feedback

    page.reload()
    panel = page.get_by_role("region", name="AI insight")
    expect(panel.get_by_label("Category")).to_have_value(corrected)


def test_snoozed_mail_leaves_the_inbox_and_comes_back(
    page: Page, api: Api, mailbox: Mailbox
) -> None:
    mailbox.deliver("Call me next week")
    mailbox.deliver("Stays in the inbox")
    user = api.new_user()
    api.add_account(user, mailbox)
    api.wait_for_emails(user, 2, folder_role="inbox")
    sign_in(page, user)

    row(page, "Call me next week").click()
    reader = page.get_by_role("region", name="Message", exact=True)
    reader.get_by_role("button", name="Snooze").click()
    menu = page.get_by_role("menu", name="Snooze until")
    expect(menu.get_by_role("menuitem")).to_have_count(4)
    menu.get_by_role("menuitem", name="Tomorrow morning").click()

    expect(row(page, "Call me next week")).to_have_count(0)
    expect(row(page, "Stays in the inbox")).to_be_visible()
    snoozed = api.wait_for_emails(user, 1, what="the snoozed message", snoozed=True)
    assert snoozed[0]["subject"] == "Call me next week"
    assert snoozed[0]["snoozed_until"]

    page.goto("/mail/snoozed")
    expect(row(page, "Call me next week")).to_be_visible()
    expect(row(page, "Stays in the inbox")).to_have_count(0)
    row(page, "Call me next week").click()
    reader = page.get_by_role("region", name="Message", exact=True)
    expect(reader.get_by_text("Snoozed until")).to_be_visible()
    reader.get_by_role("button", name="Unsnooze").click()
    expect(reader.get_by_text("Snoozed until")).to_have_count(0)
    wait_for(
        lambda: any(
            m["subject"] == "Call me next week" for m in api.emails(user, folder_role="inbox")
        ),
        "the message back in the inbox",
    )


def test_a_draft_saves_itself_resumes_from_drafts_and_is_scheduled(
    page: Page, api: Api, mailbox: Mailbox
) -> None:
    mailbox.deliver("Something to read")
    user = api.new_user()
    api.add_account(user, mailbox)
    api.wait_for_emails(user, 1, folder_role="inbox")
    sign_in(page, user)

    page.get_by_role("button", name="Compose").click()
    composer = page.get_by_role("dialog", name="New message")
    composer.get_by_label("To").fill("grace@example.net")
    composer.get_by_label("Subject").fill("Offsite plans")
    composer.get_by_label("Message").fill("Shall we meet in Potsdam?")
    # Saved two seconds after the last edit, without closing.
    expect(composer.get_by_text("Draft saved at")).to_be_visible()
    drafts = api.wait_for_emails(user, 1, what="the saved draft", folder_role="drafts")
    assert drafts[0]["subject"] == "Offsite plans"
    assert drafts[0]["send_status"] == "draft"
    page.keyboard.press("Escape")
    expect(composer).to_have_count(0)

    page.goto("/mail/drafts")
    row(page, "Offsite plans").click()
    reader = page.get_by_role("region", name="Message", exact=True)
    expect(reader.get_by_text("This is a draft.")).to_be_visible()
    reader.get_by_role("button", name="Edit", exact=True).click()
    composer = page.get_by_role("dialog", name="Draft")
    expect(composer.get_by_label("To")).to_have_value("grace@example.net")
    expect(composer.get_by_label("Subject")).to_have_value("Offsite plans")
    expect(composer.get_by_label("Message")).to_have_value("Shall we meet in Potsdam?")

    composer.get_by_label("Send later").check()
    later = (datetime.now() + timedelta(days=1)).replace(hour=9, minute=30, second=0, microsecond=0)
    composer.get_by_label("Send at").fill(later.strftime("%Y-%m-%dT%H:%M"))
    composer.get_by_role("button", name="Schedule", exact=True).click()
    expect(composer).to_have_count(0)
    scheduled = api.wait_for_emails(user, 1, what="the scheduled message", send_status="scheduled")
    assert scheduled[0]["id"] == drafts[0]["id"]  # the draft itself, not a copy
    draft = api.get(user, f"/api/drafts/{drafts[0]['id']}")
    assert datetime.fromisoformat(draft["send_at"]).timestamp() == later.timestamp()

    page.goto("/mail/scheduled")
    row(page, "Offsite plans").click()
    reader = page.get_by_role("region", name="Message", exact=True)
    expect(reader.get_by_text("Scheduled for")).to_be_visible()
    reader.get_by_role("button", name="Cancel sending").click()
    expect(reader.get_by_text("This is a draft.")).to_be_visible()
    wait_for(
        lambda: api.get(user, f"/api/drafts/{drafts[0]['id']}")["send_status"] == "draft",
        "the message back to a draft",
    )
