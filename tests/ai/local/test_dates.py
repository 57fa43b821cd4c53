from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailmind.ai.local.dates import deadlines, find_dates

# Tuesday, 1 December 2026.
REF = date(2026, 12, 1)


def only(text: str, ref: date = REF) -> tuple[date, bool]:
    (found,) = find_dates(text, ref)
    return found.value, found.deadline


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bitte schick mir das bis Freitag.", date(2026, 12, 4)),
        ("Can you send it by Friday?", date(2026, 12, 4)),
        ("until 3 Dec", date(2026, 12, 3)),
        ("bis zum 05.12. bitte", date(2026, 12, 5)),
        ("Abgabe am 05.12.2026", date(2026, 12, 5)),
        ("due 2026-12-03", date(2026, 12, 3)),
        ("by December 3rd", date(2026, 12, 3)),
        ("spätestens am 3. Dezember", date(2026, 12, 3)),
        ("no later than 4th of December 2026", date(2026, 12, 4)),
        ("EOD please", date(2026, 12, 1)),
        ("by close of business", date(2026, 12, 1)),
        ("bis heute Abend", date(2026, 12, 1)),
        ("by end of week", date(2026, 12, 4)),
        ("bis Ende der Woche", date(2026, 12, 4)),
        ("bis Ende des Monats", date(2026, 12, 31)),
    ],
)
def test_deadlines_in_english_and_german(text: str, expected: date) -> None:
    assert only(text) == (expected, True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("See you tomorrow.", date(2026, 12, 2)),
        ("Wir sprechen morgen darüber.", date(2026, 12, 2)),
        ("übermorgen", date(2026, 12, 3)),
        ("the day after tomorrow", date(2026, 12, 3)),
        ("heute", date(2026, 12, 1)),
        ("next Monday", date(2026, 12, 7)),
        ("nächsten Montag", date(2026, 12, 7)),
        ("am Donnerstag", date(2026, 12, 3)),
        ("this Tuesday", date(2026, 12, 1)),
        ("on Tuesday", date(2026, 12, 8)),
        ("Freitag nächster Woche", date(2026, 12, 11)),
        ("Thursday next week", date(2026, 12, 10)),
        ("in 3 Tagen", date(2026, 12, 4)),
        ("in two weeks", date(2026, 12, 15)),
        ("nächste Woche", date(2026, 12, 7)),
        ("am 3. Dezember 2026", date(2026, 12, 3)),
        ("December 24", date(2026, 12, 24)),
        ("24 Dec", date(2026, 12, 24)),
    ],
)
def test_dates_resolve_against_the_mail_date(text: str, expected: date) -> None:
    assert only(text) == (expected, False)


def test_a_date_without_year_is_the_next_one_unless_just_passed() -> None:
    assert only("am 05.01.")[0] == date(2027, 1, 5)
    assert only("on 3 Jan")[0] == date(2027, 1, 3)
    # Mentioned a few weeks later: the date that just passed, not next year's.
    assert only("the invoice of 15.11.")[0] == date(2026, 11, 15)


def test_times_after_a_date_are_kept() -> None:
    (found,) = find_dates("Could we meet on Thursday at 3 pm?", REF)
    assert (found.value, found.time, found.text) == (
        date(2026, 12, 3),
        time(15, 0),
        "on Thursday at 3 pm",
    )
    (found,) = find_dates("Treffen am Donnerstag um 15:30 Uhr?", REF)
    assert (found.value, found.time) == (date(2026, 12, 3), time(15, 30))
    (found,) = find_dates("bis zum 05.12. um 14 Uhr", REF)
    assert found.time == time(14, 0) and found.deadline


def test_morning_greetings_and_version_numbers_are_not_dates() -> None:
    assert find_dates("Guten Morgen Anna, am Morgen ist es ruhig.", REF) == []
    assert find_dates("Upgrade from 1.2.3 to 10.0.1 and v2.12.2026 done", REF) == []
    assert find_dates("Please see page 31.13. of the manual", REF) == []


def test_several_dates_in_order_with_deadline_flags() -> None:
    text = "We met on Monday. Please send the report by Friday and the slides on 10.12."
    found = find_dates(text, REF)
    assert [(f.value, f.deadline) for f in found] == [
        (date(2026, 12, 7), False),
        (date(2026, 12, 4), True),
        (date(2026, 12, 10), False),
    ]
    assert [d.value for d in deadlines(text, REF)] == [date(2026, 12, 4)]


def test_a_datetime_reference_uses_its_date() -> None:
    assert find_dates("tomorrow", datetime(2026, 12, 31, 23, 0))[0].value == date(2027, 1, 1)


@given(st.text(max_size=300), st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)))
def test_any_text_gives_well_formed_dates(text: str, ref: date) -> None:
    found = find_dates(text, ref)
    last_end = 0
    for f in found:
        assert last_end <= f.start < f.end <= len(text)
        assert f.text == text[f.start : f.end].strip()
        assert abs(f.value - ref) < timedelta(days=366 * 100)
        last_end = f.end
