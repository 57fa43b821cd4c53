"""Search and Ask your inbox in the browser: an operator narrows the results, the matched words
are marked, a hit opens in the reader; the results follow what is typed, without Enter; a
question is answered from the one message that holds the answer, and its citation opens that
message."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Api, Mailbox, User, row, sign_in, wait_for

BOAT_TRIP = "Boat trip to Lisbon"
FESTIVAL = "Harbour festival tickets"


@pytest.fixture
def searcher(api: Api, mailbox: Mailbox) -> User:
    """A user with a few messages, two of them about the harbour (one from Ada, one not)."""
    mailbox.deliver(
        BOAT_TRIP,
        sender="Ada Lovelace <ada@example.net>",
        text="Hello,\n\nthe ferry for our Lisbon boat trip leaves the harbour at nine on "
        "Saturday morning. Bring a warm jacket.\n\nAda\n",
    )
    mailbox.deliver(
        FESTIVAL,
        sender="Grace Hopper <grace@example.net>",
        text="Tickets for the harbour festival are on sale from Monday.\n",
    )
    mailbox.deliver(
        "Lunch next week",
        sender="Ada Lovelace <ada@example.net>",
        text="Shall we have lunch on Thursday near the office?\n",
    )
    mailbox.deliver(
        "Invoice 4711", sender="Billing <billing@example.net>", text="Your invoice is attached.\n"
    )
    user = api.new_user()
    api.add_account(user, mailbox)
    api.wait_for_emails(user, 4, folder_role="inbox")
    # Searches count against 20 a minute per user: ask the index rarely.
    wait_for(
        lambda: len(api.get(user, "/api/search", q="harbour", mode="keyword")["items"]) == 2,
        "both harbour messages in the search index",
        interval=3,
    )
    return user


def test_search_with_an_operator_marks_the_words_and_opens_a_hit(
    page: Page, api: Api, searcher: User
) -> None:
    sign_in(page, searcher)
    expect(row(page, BOAT_TRIP)).to_be_visible()

    page.keyboard.press("/")
    box = page.get_by_role("searchbox", name="Search mail")
    expect(box).to_be_focused()
    box.fill("from:ada harbour")
    box.press("Enter")
    page.wait_for_url("**/mail/search?*")
    assert parse_qs(urlsplit(page.url).query) == {"q": ["from:ada harbour"], "mode": ["hybrid"]}

    results = page.get_by_role("listbox", name="Search results")
    expect(results.get_by_role("option")).to_have_count(1)
    hit = row(page, BOAT_TRIP)
    expect(row(page, FESTIVAL)).to_have_count(0)  # about the harbour, but not from Ada
    expect(page.get_by_role("status").filter(has_text="1 result")).to_be_visible()
    # The snippet's match is marked as an element, not shown as markup.
    expect(hit.locator("mark")).to_have_text(["harbour"])
    expect(hit).not_to_contain_text("<mark>")
    expect(hit).to_contain_text("Words ·")  # why it matched

    # The user's AI is off, so there are no vectors: the server searched by words only.
    assert api.get(searcher, "/api/search", q="from:ada harbour")["mode_used"] == "keyword"
    notice = page.get_by_role("note")
    expect(notice).to_contain_text("Search by meaning is not available right now")
    page.get_by_role("group", name="Search by").get_by_text("Words", exact=True).click()
    page.wait_for_url("**mode=keyword*")
    expect(notice).to_have_count(0)
    expect(results.get_by_role("option")).to_have_count(1)

    hit.click()
    page.wait_for_url("**/mail/search/message/*")
    reader = page.get_by_role("region", name="Message", exact=True)
    expect(reader.get_by_role("heading", name=BOAT_TRIP)).to_be_visible()
    expect(reader.get_by_text("leaves the harbour at nine")).to_be_visible()
    expect(hit).to_have_attribute("aria-current", "true")
    expect(box).to_have_value("from:ada harbour")

    # A phrase and a negation pass through as typed.
    box.fill('"harbour festival" -from:ada')
    box.press("Enter")
    expect(results.get_by_role("option")).to_have_count(1)
    expect(row(page, FESTIVAL)).to_be_visible()
    expect(row(page, FESTIVAL).locator("mark").first).to_be_visible()

    box.fill("xylophone quartet")
    box.press("Enter")
    expect(page.get_by_text("Nothing matches “xylophone quartet”.")).to_be_visible()


def _shows_query(q: str) -> Callable[[str], bool]:
    return lambda url: parse_qs(urlsplit(url).query).get("q") == [q]


def test_search_follows_typing_without_enter(page: Page, searcher: User) -> None:
    sign_in(page, searcher)
    expect(row(page, BOAT_TRIP)).to_be_visible()

    page.keyboard.press("/")
    box = page.get_by_role("searchbox", name="Search mail")
    expect(box).to_be_focused()
    # Key by key, quicker than the 300 ms the results wait for the keys to rest; no Enter.
    page.keyboard.type("from:ada", delay=60)
    page.wait_for_url(_shows_query("from:ada"))
    results = page.get_by_role("listbox", name="Search results")
    expect(results.get_by_role("option")).to_have_count(2)  # the boat trip and the lunch
    expect(page.get_by_role("status").filter(has_text="2 results")).to_be_visible()

    # The last word is still being typed: "harb" finds the harbour.
    page.keyboard.type(" harb", delay=60)
    page.wait_for_url(_shows_query("from:ada harb"))
    expect(results.get_by_role("option")).to_have_count(1)
    expect(row(page, BOAT_TRIP)).to_be_visible()
    expect(row(page, FESTIVAL)).to_have_count(0)  # about the harbour, but not from Ada
    expect(page.get_by_role("status").filter(has_text="1 result")).to_be_visible()
    expect(box).to_be_focused()
    expect(box).to_have_value("from:ada harb")

    # Typing replaced the results in the history instead of adding each query: Back leaves them.
    page.go_back()
    page.wait_for_url("**/mail/inbox")
    expect(row(page, BOAT_TRIP)).to_be_visible()


def test_asking_answers_from_one_message_and_its_citation_opens_it(
    page: Page, searcher: User
) -> None:
    sign_in(page, searcher)
    expect(row(page, BOAT_TRIP)).to_be_visible()

    page.keyboard.press("q")
    page.wait_for_url("**/mail/ask")
    question = page.get_by_label("Your question")
    expect(question).to_be_focused()
    question.fill("When does the Lisbon ferry leave the harbour?")
    question.press("Enter")

    answer = page.get_by_role("region", name="Answer")
    expect(answer).to_contain_text("leaves the harbour at nine on Saturday morning")
    expect(answer).to_contain_text("Local, extractive")
    sources = answer.get_by_role("list")
    expect(sources.get_by_role("listitem")).to_have_count(1)
    source = sources.get_by_role("link")
    expect(source).to_contain_text(BOAT_TRIP)
    expect(source).to_contain_text("Ada Lovelace")
    # The answer's [1] leads to the same message.
    expect(answer.get_by_role("link", name=f"Source 1: {BOAT_TRIP}")).to_be_visible()

    source.click()
    page.wait_for_url("**/mail/ask/message/*")
    reader = page.get_by_role("region", name="Message", exact=True)
    expect(reader.get_by_role("heading", name=BOAT_TRIP)).to_be_visible()
    expect(reader.get_by_text("Bring a warm jacket")).to_be_visible()
    expect(source).to_have_attribute("aria-current", "true")
    expect(answer).to_contain_text("leaves the harbour at nine")  # the answer stays

    # A question the mail cannot answer says so and cites nothing.
    question.fill("What is the wifi password of the observatory?")
    question.press("Enter")
    expect(answer).to_contain_text("Nothing in your mail answers that.")
    expect(answer.get_by_role("list")).to_have_count(0)
