"""GET /api/search in keyword mode: full text, highlights, operators, negation, phrases, the
trigram fallback, Spam/Trash, dates (PRODUCT_SPEC §2.6)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from mailmind.search import keyword
from tests.api.conftest import make_box
from tests.conftest import assert_error
from tests.factories import create_account, create_folder, create_tag
from tests.search.conftest import add_mail


async def _search(client, box, q, **params):
    params = {"q": q, "mode": "keyword", **params}
    response = await client.get("/api/search", params=params, headers=box.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _subjects(client, box, q, **params):
    return [item["email"]["subject"] for item in (await _search(client, box, q, **params))["items"]]


async def test_subject_ranks_above_body_and_matches_are_marked(client, runtime, box):
    async with runtime.db.session() as s:
        await add_mail(s, box.account, box.inbox, subject="Lunch plans", body="About the invoice.")
        await add_mail(s, box.account, box.inbox, subject="Invoice 42 <b>", body="Please pay.")
        await add_mail(s, box.account, box.inbox, subject="Holiday", body="Nothing here.")
    page = await _search(client, box, "invoice ")
    assert page["mode_used"] == "keyword" and page["next_cursor"] is None
    first, second = page["items"]
    assert first["email"]["subject"] == "Invoice 42 <b>"
    assert first["matched"] == "keyword" and first["score"] > second["score"] > 0
    # Escaped HTML with the match in <mark>, nothing else as markup.
    assert first["highlights"]["subject"] == "<mark>Invoice</mark> 42 &lt;b&gt;"
    assert second["highlights"]["body"] == "About the <mark>invoice</mark>"
    assert second["highlights"]["subject"] == "Lunch plans"


async def test_snippets_come_from_where_a_long_body_holds_the_words(client, runtime, box):
    filler = "Nothing to see in this line of the report. " * 600  # 26,400 characters
    async with runtime.db.session() as s:
        await add_mail(
            s,
            box.account,
            box.inbox,
            subject="Quarterly report",
            body=filler + "At the very end: the Zeppelin lands on Friday. " + filler,
        )
    (item,) = (await _search(client, box, "the zeppelin "))["items"]
    body = item["highlights"]["body"]
    assert "<mark>Zeppelin</mark> lands" in body
    # Stop words of the query are not marked when it has other words.
    assert "<mark>the</mark>" not in body.lower()


async def test_last_word_matches_as_a_prefix_while_typing(client, runtime, box):
    async with runtime.db.session() as s:
        await add_mail(s, box.account, box.inbox, subject="Quarterly numbers", body="invoices")
        await add_mail(s, box.account, box.inbox, subject="Quarterly figures", body="invitation")
    assert await _subjects(client, box, "invo") == ["Quarterly numbers"]
    assert sorted(await _subjects(client, box, "quarterly inv")) == [
        "Quarterly figures",
        "Quarterly numbers",
    ]
    # The one with both words first; the other holds only "quarterly".
    page = await _search(client, box, "quarterly invo")
    assert [i["email"]["subject"] for i in page["items"]] == [
        "Quarterly numbers",
        "Quarterly figures",
    ]
    assert page["items"][0]["score"] >= 1 > page["items"][1]["score"]


async def test_stemming_in_the_messages_own_language(client, runtime, box):
    async with runtime.db.session() as s:
        await add_mail(
            s,
            box.account,
            box.inbox,
            subject="Abrechnung",
            body="Anbei die Rechnungen für den Monat, bitte prüfen und bis Freitag bezahlen. "
            "Vielen Dank und viele Grüße",
        )
        await add_mail(
            s,
            box.account,
            box.inbox,
            subject="Report",
            body="We are running the numbers and the meetings are planned for the week.",
        )
    assert await _subjects(client, box, "Rechnung ") == ["Abrechnung"]
    assert await _subjects(client, box, "meeting run ") == ["Report"]


async def test_people_are_searchable_by_name_and_address_parts(client, runtime, box):
    async with runtime.db.session() as s:
        await add_mail(
            s,
            box.account,
            box.inbox,
            subject="Hi",
            body="x",
            sender=("Grace Hopper", "gh@navy.mil"),
        )
    assert await _subjects(client, box, "hopper ") == ["Hi"]
    assert await _subjects(client, box, "navy ") == ["Hi"]


async def test_trigram_fallback_finds_typos_in_subjects_and_senders(client, runtime, box):
    async with runtime.db.session() as s:
        await add_mail(s, box.account, box.inbox, subject="Conference schedule", body="x")
        await add_mail(
            s,
            box.account,
            box.inbox,
            subject="Hello",
            body="y",
            sender=("", "margaretha.schoenberger@example.org"),
        )
    assert await _subjects(client, box, "conferense ") == ["Conference schedule"]
    assert await _subjects(client, box, "schonberger ") == ["Hello"]


async def test_exact_phrase(client, runtime, box):
    async with runtime.db.session() as s:
        await add_mail(s, box.account, box.inbox, subject="A", body="The quarterly report is out.")
        await add_mail(
            s, box.account, box.inbox, subject="B", body="Report on the quarterly sales."
        )
    assert await _subjects(client, box, '"quarterly report"') == ["A"]
    assert sorted(await _subjects(client, box, "quarterly report ")) == ["A", "B"]


async def test_negated_words_and_phrases(client, runtime, box):
    async with runtime.db.session() as s:
        await add_mail(s, box.account, box.inbox, subject="Invoice March", body="x")
        await add_mail(s, box.account, box.inbox, subject="Invoice April", body="x")
    assert await _subjects(client, box, "invoice -march") == ["Invoice April"]
    assert await _subjects(client, box, 'invoice -"invoice april"') == ["Invoice March"]
    assert await _subjects(client, box, "-april") == ["Invoice March"]


async def test_a_word_the_message_lacks_does_not_hide_it(client, runtime, box):
    async with runtime.db.session() as s:
        await add_mail(
            s,
            box.account,
            box.inbox,
            subject="Dell laptops",
            body="Linux runs fine on the new Dell laptops, but the wireless card needs a driver.",
        )
        await add_mail(
            s,
            box.account,
            box.inbox,
            subject="Dell laptop compatibility",
            body="Which of the Dell laptops have compatibility problems with Linux?",
        )
        await add_mail(s, box.account, box.inbox, subject="Lunch", body="Pizza on Friday.")
    page = await _search(client, box, "linux compatibility problems with dell laptops ")
    subjects = [item["email"]["subject"] for item in page["items"]]
    # Every word first, then the one without "compatibility" and "problems"; nothing unrelated.
    assert subjects == ["Dell laptop compatibility", "Dell laptops"]
    first, second = page["items"]
    assert first["score"] >= 1 > second["score"] > 0
    assert "<mark>Dell</mark> <mark>laptops</mark>" in second["highlights"]["body"]


async def test_rare_words_outweigh_common_ones_in_partial_matches(client, runtime, box):
    async with runtime.db.session() as s:
        for n in range(12):
            await add_mail(
                s, box.account, box.inbox, subject=f"Weekly meeting {n}", body="Agenda attached."
            )
        await add_mail(
            s,
            box.account,
            box.inbox,
            subject="Hangar visit",
            body="The zeppelin is in the hangar until Tuesday.",
        )
        await s.execute(text("ANALYZE messages"))
    keyword._stats.clear()  # the statistics were just gathered
    subjects = await _subjects(client, box, "zeppelin meeting ")
    assert subjects[0] == "Hangar visit"
    assert len(subjects) == 13


async def test_words_in_much_of_the_mail_are_looked_for_in_the_newest_first(
    client, runtime, box, monkeypatch
):
    # A word in every message of the box, far more than the candidates a search may score.
    monkeypatch.setattr(keyword, "WINDOW_MATCHES", 2)
    monkeypatch.setattr(keyword, "WINDOW_ABOVE", 4)
    async with runtime.db.session() as s:
        for day in range(1, 13):
            await add_mail(
                s,
                box.account,
                box.inbox,
                subject=f"Status {day}",
                body="The zorbulent figures.",
                date=datetime(2026, 3, day, tzinfo=UTC),
            )
        # The best match by far, but the oldest message.
        await add_mail(
            s,
            box.account,
            box.inbox,
            subject="Zorbulent zorbulent zorbulent",
            body="Zorbulent all the way.",
            date=datetime(2026, 2, 1, tzinfo=UTC),
        )
        await s.execute(text("ANALYZE messages"))
    keyword._stats.clear()
    keyword._windows.clear()
    # A page of 2 is filled from the newest mail that should hold enough matches.
    newest = await _subjects(client, box, "zorbulent ", limit=2)
    assert newest and "Zorbulent zorbulent zorbulent" not in newest
    assert set(newest) <= {f"Status {day}" for day in range(5, 13)}
    # A page the newest mail cannot fill is looked for in all of it, the best match first.
    everything = await _subjects(client, box, "zorbulent ", limit=20)
    assert everything[0] == "Zorbulent zorbulent zorbulent"
    assert len(everything) == 13


async def test_phrases_stay_required_when_words_are_missing(client, runtime, box):
    async with runtime.db.session() as s:
        await add_mail(s, box.account, box.inbox, subject="A", body="The quarterly report is out.")
        await add_mail(
            s, box.account, box.inbox, subject="B", body="Report on the quarterly sales figures."
        )
        await add_mail(
            s, box.account, box.inbox, subject="C", body="The quarterly report on sales is out."
        )
    # B has "sales" but not the phrase; A has the phrase but not "sales".
    assert await _subjects(client, box, '"quarterly report" sales ') == ["C", "A"]


async def test_negations_stay_exact_when_words_are_missing(client, runtime, box):
    async with runtime.db.session() as s:
        await add_mail(
            s,
            box.account,
            box.inbox,
            subject="Invoice March",
            body="Here are the invoices for the month, please pay them by Friday.",
        )
        await add_mail(
            s,
            box.account,
            box.inbox,
            subject="Invoice April",
            body="Here is the invoice for the month, please pay it by Friday.",
        )
        await add_mail(
            s, box.account, box.inbox, subject="Payment reminder", body="Please pay by Friday."
        )
    assert await _subjects(client, box, "invoice april reminder -march ") == [
        "Invoice April",
        "Payment reminder",
    ]
    # A negated word is left out in every reading of a message: "-invoices" drops the English
    # mail, whose vector holds only the stem "invoic", with every form of the word.
    assert await _subjects(client, box, "pay -invoices ") == ["Payment reminder"]


async def _operator_box(runtime, box):
    """Mail that differs in one property each."""
    async with runtime.db.session() as s:
        second = await create_account(s, box.user, email="second@example.net", display_name="Work")
        second_inbox = await create_folder(s, second, role="inbox")
        projects = await create_folder(s, box.account, name="Projects")
        tag = await create_tag(s, box.user, "Work/Clients")
        parent = await create_tag(s, box.user, "Work")
        other_tag = await create_tag(s, box.user, "Home")
        day = datetime(2025, 3, 10, 12, tzinfo=UTC)
        mails = {
            "plain": dict(subject="Plain note"),
            "from": dict(subject="From note", sender=("Zed Zebra", "zed@zoo.example")),
            "to": dict(subject="To note", to=(("Quinn", "quinn@q.example"),)),
            "attach": dict(subject="Attach note", files=("plan.pdf",)),
            "read": dict(subject="Read note", is_read=True),
            "starred": dict(subject="Starred note", is_starred=True, is_read=True),
            "snoozed": dict(subject="Snoozed note", snoozed_until=datetime(2099, 1, 1, tzinfo=UTC)),
            "old": dict(subject="Old note", date=datetime(2025, 3, 9, 23, 59, tzinfo=UTC)),
            "day": dict(subject="Day note", date=day),
            "work": dict(subject="Category note", category="work"),
            "tagged": dict(subject="Tagged note", tags=[tag]),
            "parent": dict(subject="Parent tag note", tags=[parent]),
            "home": dict(subject="Home tag note", tags=[other_tag]),
            "high": dict(subject="High note", priority=85, priority_band="high"),
            "low": dict(subject="Low note", priority=20, priority_band="low"),
        }
        for key, values in mails.items():
            values.setdefault("date", datetime(2025, 6, 1, tzinfo=UTC))
            values.setdefault("is_read", False)
            await add_mail(s, box.account, box.inbox, body=f"{key} body note", **values)
        await add_mail(s, box.account, projects, subject="Folder note", body="note")
        await add_mail(s, second, second_inbox, subject="Second account note", body="note")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("from:zebra", {"From note"}),
        ("from:zed@zoo", {"From note"}),
        ("to:quinn", {"To note"}),
        ("subject:attach", {"Attach note"}),
        ('subject:"tag note"', {"Parent tag note", "Home tag note"}),
        ("has:attachment", {"Attach note"}),
        ("is:starred", {"Starred note"}),
        ("is:snoozed", {"Snoozed note"}),
        ("before:2025-03-10", {"Old note"}),
        ("after:2025-03-10 before:2025-03-11", {"Day note"}),
        ("category:work", {"Category note"}),
        ("tag:work", {"Tagged note", "Parent tag note"}),
        ("tag:work/clients", {"Tagged note"}),
        ("in:projects", {"Folder note"}),
        ("priority:high", {"High note"}),
        ("priority:10-30", {"Low note"}),
        ("priority:>=80", {"High note"}),
        ("account:second@example.net", {"Second account note"}),
        ("account:work", {"Second account note"}),
        ("note from:zebra", {"From note"}),
        ("plain from:zebra", set()),
    ],
)
async def test_operator(client, runtime, box, q, expected):
    await _operator_box(runtime, box)
    assert set(await _subjects(client, box, q, limit=100)) == expected


async def test_is_read_and_unread_and_in_role(client, runtime, box):
    await _operator_box(runtime, box)
    read = set(await _subjects(client, box, "is:read", limit=100))
    assert read == {"Read note", "Starred note"}
    unread = set(await _subjects(client, box, "is:unread", limit=100))
    assert unread and not unread & read
    assert "Folder note" not in set(await _subjects(client, box, "in:inbox", limit=100))
    assert "Second account note" in set(await _subjects(client, box, "in:inbox", limit=100))


async def test_negated_operators(client, runtime, box):
    await _operator_box(runtime, box)
    everything = set(await _subjects(client, box, "note", limit=100))
    assert len(everything) == 17
    assert set(await _subjects(client, box, "note -from:zebra", limit=100)) == everything - {
        "From note"
    }
    # Mail without a category or a priority is kept by a negated test on them.
    assert set(await _subjects(client, box, "-category:work", limit=100)) == everything - {
        "Category note"
    }
    assert set(await _subjects(client, box, "-priority:high", limit=100)) == everything - {
        "High note"
    }
    assert set(await _subjects(client, box, "-tag:work", limit=100)) == everything - {
        "Tagged note",
        "Parent tag note",
    }
    assert set(await _subjects(client, box, "note -has:attachment -is:snoozed", limit=100)) == (
        everything - {"Attach note", "Snoozed note"}
    )


async def test_unknown_operator_and_unfit_values_are_text(client, runtime, box):
    async with runtime.db.session() as s:
        await add_mail(s, box.account, box.inbox, subject="Colour: blue", body="x")
        await add_mail(s, box.account, box.inbox, subject="is: pending", body="x")
    assert await _subjects(client, box, "colour:blue") == ["Colour: blue"]
    assert await _subjects(client, box, "is:pending") == ["is: pending"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "before:2025-13-01"},
        {"q": "after:yesterday"},
        {"q": "x", "date_from": "01.02.2025"},
        {"q": "x", "date_to": "2025-02-30"},
    ],
)
async def test_bad_dates_are_val007(client, box, params):
    response = await client.get(
        "/api/search", params={"mode": "keyword", **params}, headers=box.headers
    )
    assert_error(response, 400, "VAL007")


async def test_date_range_parameters(client, runtime, box):
    async with runtime.db.session() as s:
        for day in (1, 2, 3):
            await add_mail(
                s,
                box.account,
                box.inbox,
                subject=f"Day {day}",
                body="x",
                date=datetime(2025, 5, day, 10, tzinfo=UTC),
            )
    found = await _subjects(client, box, "day", date_from="2025-05-02", date_to="2025-05-02")
    assert found == ["Day 2"]


async def test_spam_and_trash_only_with_in(client, runtime, box):
    async with runtime.db.session() as s:
        await add_mail(s, box.account, box.folders["spam"], subject="Prize offer", body="x")
        await add_mail(s, box.account, box.folders["trash"], subject="Prize old", body="x")
        await add_mail(s, box.account, box.inbox, subject="Prize draw at work", body="x")
    assert await _subjects(client, box, "prize") == ["Prize draw at work"]
    assert await _subjects(client, box, "prize in:spam") == ["Prize offer"]
    assert await _subjects(client, box, "prize in:trash") == ["Prize old"]


async def test_copies_of_one_message_are_shown_once(client, runtime, box):
    async with runtime.db.session() as s:
        archive = await create_folder(s, box.account, role="archive")
        for folder in (box.inbox, archive):
            await add_mail(s, box.account, folder, subject="Minutes", body="x", dedupe_key="<m@x>")
    assert await _subjects(client, box, "minutes") == ["Minutes"]


async def test_pages_follow_the_cursor(client, runtime, box):
    async with runtime.db.session() as s:
        for n in range(5):
            await add_mail(s, box.account, box.inbox, subject=f"Report {n}", body="x")
    first = await _search(client, box, "report", limit=2)
    second = await _search(client, box, "report", limit=2, cursor=first["next_cursor"])
    third = await _search(client, box, "report", limit=2, cursor=second["next_cursor"])
    ids = [i["email"]["id"] for p in (first, second, third) for i in p["items"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None
    bad = await client.get(
        "/api/search", params={"q": "x", "cursor": "nonsense!"}, headers=box.headers
    )
    assert_error(bad, 400, "VAL002")


async def test_never_another_users_mail(client, runtime, box):
    other = await make_box(runtime, client)
    async with runtime.db.session() as s:
        await add_mail(s, other.account, other.inbox, subject="Secret merger", body="x")
        await add_mail(s, box.account, box.inbox, subject="Public merger", body="x")
    for q in ("merger", "secret", "subject:secret", "in:inbox", "-x", "mergr"):
        assert "Secret merger" not in await _subjects(client, box, q)


async def test_query_limits(client, box):
    long = await client.get("/api/search", params={"q": "x" * 1001}, headers=box.headers)
    assert_error(long, 400, "VAL003")
    over = await client.get("/api/search", params={"q": "x", "limit": 101}, headers=box.headers)
    assert_error(over, 400, "VAL003")
    anonymous = await client.get("/api/search", params={"q": "x"})
    assert_error(anonymous, 401, "AUTH003")
