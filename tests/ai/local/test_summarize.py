from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailmind.ai.local.summarize import (
    ActionItem,
    Style,
    extract_action_items,
    summarize,
    summarize_messages,
)
from mailmind.ai.local.text import split_sentences

WRITTEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday

MIGRATION = """Hi Tom,

Thanks for the update on the Apollo migration. I reviewed the plan with the infrastructure
team yesterday, and we agreed that the database cutover should happen on the weekend of
December 12th to keep the downtime away from customers.

There are three open points. First, the backup restore test has not been run since October,
and we cannot start without a verified restore. Second, the load balancer configuration still
points at the old cluster, e.g. for the reporting service. Third, Dr. Smith from compliance
asked for a written rollback procedure before she signs off.

Could you please run the restore test by Friday and send me the results? Sarah, please update
the load balancer configuration before the cutover. I will draft the rollback procedure myself
and share it on Monday.

We also need to tell the support desk about the maintenance window, so please make sure the
announcement goes out by December 8th. Please find attached the current runbook.

Best regards,
Anna Schmidt
Head of Infrastructure | ACME Inc. | +49 30 1234567

On Mon, Nov 30, 2026 at 9:00 AM Tom <tom@example.com> wrote:
> Here is the plan for the migration. The secret password is hunter2.
> Please review it urgently.
"""

UNTERLAGEN = """Hallo Herr Müller,

vielen Dank für Ihre Nachricht. Wie besprochen schicke ich Ihnen heute die überarbeiteten
Unterlagen zum Projekt Hermes, z. B. den aktualisierten Zeitplan und die Kostenschätzung.

Bitte prüfen Sie die Kostenschätzung bis zum 05.12. und geben Sie mir Bescheid, ob die Zahlen
so passen. Könnten Sie außerdem die Freigabe durch die Geschäftsführung bis Ende der Woche
einholen?

Frau Dr. Schneider übernimmt ab Januar die Projektleitung. Denken Sie bitte daran, sie in den
Verteiler aufzunehmen. Bei Fragen stehe ich Ihnen gerne zur Verfügung.

Mit freundlichen Grüßen
Lisa Weber
Projektmanagement
"""


def test_short_summary_has_at_most_three_sentences_from_the_new_text() -> None:
    result = summarize(MIGRATION, "short", subject="Apollo migration: cutover", reference=WRITTEN)
    sentences = split_sentences(result.summary)
    assert 1 <= len(sentences) <= 3
    assert all(s in MIGRATION.replace("\n", " ") for s in sentences)
    assert "hunter2" not in result.summary and "Head of Infrastructure" not in result.summary
    assert "cutover" in result.summary
    assert result.mode == "extractive" and result.language == "en"
    assert result.as_output()["mode"] == "extractive"


def test_detailed_summary_keeps_to_200_words_in_original_order() -> None:
    long_text = MIGRATION + "\n".join(
        f"Point {i}: the team discussed the migration timeline for service number {i} in detail."
        for i in range(40)
    )
    result = summarize(long_text, "detailed", subject="Apollo migration")
    assert 50 < len(result.summary.split()) <= 200
    positions = [MIGRATION.replace("\n", " ").find(s) for s in split_sentences(result.summary)]
    known = [p for p in positions if p >= 0]
    assert known == sorted(known)


def test_bullets_are_a_list() -> None:
    result = summarize(MIGRATION, "bullets", subject="Apollo migration")
    lines = result.summary.split("\n")
    assert 2 <= len(lines) <= 5 and all(line.startswith("• ") for line in lines)
    assert 1 <= len(result.main_points) <= 5


def test_action_items_with_due_dates_and_owners() -> None:
    items = summarize(MIGRATION, reference=WRITTEN).action_items
    assert items[0] == ActionItem(
        text="Could you please run the restore test by Friday and send me the results?",
        due_date="2026-12-04",
    )
    assert items[1].owner == "Sarah" and items[1].due_date is None
    assert items[2].due_date == "2026-12-08"
    assert not any("attached" in i.text or "I will draft" in i.text for i in items)
    assert all(i.done is False for i in items)
    assert summarize(MIGRATION).as_output()["action_items"][0]["done"] is False


def test_german_summary_and_action_items() -> None:
    result = summarize(
        UNTERLAGEN, "short", "german", subject="Projekt Hermes: Unterlagen", reference=WRITTEN
    )
    assert result.language == "de"
    assert "z. B." in result.summary and "Lisa Weber" not in result.summary
    assert [(i.text, i.due_date) for i in result.action_items] == [
        (
            "Bitte prüfen Sie die Kostenschätzung bis zum 05.12. und geben Sie mir Bescheid, ob "
            "die Zahlen so passen.",
            "2026-12-05",
        ),
        (
            "Könnten Sie außerdem die Freigabe durch die Geschäftsführung bis Ende der Woche "
            "einholen?",
            "2026-12-04",
        ),
        ("Denken Sie bitte daran, sie in den Verteiler aufzunehmen.", None),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kannst du mir die Folien bis morgen schicken?", "2026-12-02"),
        ("Bitte schicken Sie uns das Angebot.", None),
        ("Tom, can you book the room for Thursday?", "2026-12-03"),
        ("Don't forget to renew the certificate by EOD.", "2026-12-01"),
    ],
)
def test_request_patterns(text: str, expected: str | None) -> None:
    (item,) = extract_action_items(text, reference=WRITTEN)
    assert item.text == text and item.due_date == expected


@pytest.mark.parametrize(
    "text",
    [
        "Please find attached the invoice.",
        "If you have any questions, please do not hesitate to contact us.",
        "Bei Fragen melden Sie sich bitte jederzeit.",
        "Please do not reply to this email.",
        "The meeting went well.",
    ],
)
def test_boilerplate_is_not_an_action_item(text: str) -> None:
    assert extract_action_items(text, reference=WRITTEN) == []


def test_thread_summary_skips_quotes_and_covers_every_mail() -> None:
    first = (
        "Hi all,\n\nthe vendor contract for the new CRM expires on 31 December. "
        "We have to decide whether we renew it or switch to the open source CRM.\n\nBest,\nAnna"
    )
    second = (
        "I vote for switching to the open source CRM, the licence costs of the vendor contract "
        "doubled this year.\n\nOn Tue, Dec 1, 2026 Anna wrote:\n> the vendor contract for the new "
        "CRM expires on 31 December.\n"
    )
    third = "Agreed. Could you prepare a migration estimate for the CRM by Friday?\n\nCheers\nTom"
    result = summarize_messages(
        [first, second, third], "bullets", "en", subject="CRM contract", reference=WRITTEN
    )
    text = result.summary
    assert text.count("the vendor contract for the new CRM expires") == 1
    assert "open source CRM" in text
    assert [i.text for i in result.action_items] == [
        "Could you prepare a migration estimate for the CRM by Friday?"
    ]


def test_empty_text_gives_an_empty_summary() -> None:
    result = summarize("", "short")
    assert (result.summary, result.main_points, result.action_items) == ("", [], [])


@given(st.text(max_size=2000), st.sampled_from(["short", "detailed", "bullets"]))
def test_any_text_gives_a_bounded_summary(text: str, style: Style) -> None:
    result = summarize(text, style, reference=WRITTEN)
    if style == "bullets":
        assert len([line for line in result.summary.split("\n") if line]) <= 5
    if style == "detailed":
        assert len(result.summary.split()) <= 200
    assert len(result.main_points) <= 5
    assert all(i.due_date is None or len(i.due_date) == 10 for i in result.action_items)
