"""Dates and deadlines in English and German mail text.

Finds absolute dates (``2026-12-05``, ``05.12.2026``, ``05.12.``, ``3. Dezember``, ``3 Dec``,
``December 3rd``) and relative ones (``today``/``heute``, ``tomorrow``/``morgen``, ``übermorgen``,
weekdays with or without ``next``/``nächsten``/``this``/``diesen``, ``end of week``/``Ende der
Woche``, ``EOD``/``COB``, ``end of month``/``Monatsende``, ``next week``/``nächste Woche``,
``in 3 days``/``in 3 Tagen``), resolved against the date the mail was written, with an optional
time (``3 pm``, ``15 Uhr``, ``15:30``). A date preceded by ``by``/``until``/``due``/``bis``/
``spätestens``/``Frist`` … counts as a deadline.

Resolution rules: a date without a year is the next such date, unless it lies at most 90 days
back (then it is this year's, a date just passed); a weekday (also "next Friday", "nächsten
Freitag", which in business mail mostly mean the coming one) is its next occurrence 1–7 days
ahead, "this Friday"/"diesen Freitag" may be today; "Friday next week"/"Freitag nächster Woche"
is that weekday in the following calendar week; "end of week" is the week's Friday.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

__all__ = ["FoundDate", "deadlines", "find_dates"]


@dataclass(frozen=True, slots=True)
class FoundDate:
    """A date found in a text: ``text`` is the matched words (with the time when one follows)."""

    value: date
    text: str
    start: int
    end: int
    deadline: bool
    time: time | None = None


_MONTHS = {
    "january": 1, "jan": 1, "januar": 1, "jänner": 1,
    "february": 2, "feb": 2, "februar": 2,
    "march": 3, "mar": 3, "märz": 3, "maerz": 3, "mär": 3, "mrz": 3,
    "april": 4, "apr": 4,
    "may": 5, "mai": 5,
    "june": 6, "jun": 6, "juni": 6,
    "july": 7, "jul": 7, "juli": 7,
    "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "oktober": 10, "okt": 10,
    "november": 11, "nov": 11,
    "december": 12, "dec": 12, "dezember": 12, "dez": 12,
}  # fmt: skip
_WEEKDAYS = {
    "monday": 0, "montag": 0,
    "tuesday": 1, "dienstag": 1,
    "wednesday": 2, "mittwoch": 2,
    "thursday": 3, "donnerstag": 3,
    "friday": 4, "freitag": 4,
    "saturday": 5, "samstag": 5, "sonnabend": 5,
    "sunday": 6, "sonntag": 6,
}  # fmt: skip
_NUMBERS = {
    "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "ein": 1, "einem": 1, "einer": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
    "sieben": 7, "ten": 10, "zehn": 10, "fourteen": 14, "vierzehn": 14,
}  # fmt: skip

_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_NUMBER = "|".join(sorted(_NUMBERS, key=len, reverse=True))
_NEXT = r"next|nächste[nrms]?|naechste[nrms]?"
_THIS = r"this|coming|diese[nrms]?|kommende[nrms]?|am|on"

_I = re.IGNORECASE
_Handler = Callable[[re.Match[str], date], date | None]


def _year(match: re.Match[str]) -> int | None:
    raw = match.group("y")
    if not raw:
        return None
    year = int(raw)
    return year + 2000 if year < 100 else year


def _make(year: int | None, month: int, day: int, reference: date) -> date | None:
    try:
        if year is not None:
            return date(year, month, day)
        candidate = date(reference.year, month, day)
        if candidate < reference - timedelta(days=90):
            candidate = date(reference.year + 1, month, day)
        return candidate
    except ValueError:
        return None


def _iso(m: re.Match[str], ref: date) -> date | None:
    return _make(int(m.group("y")), int(m.group("m")), int(m.group("d")), ref)


def _numeric(m: re.Match[str], ref: date) -> date | None:
    return _make(_year(m), int(m.group("m")), int(m.group("d")), ref)


def _named(m: re.Match[str], ref: date) -> date | None:
    return _make(_year(m), _MONTHS[m.group("mon").lower()], int(m.group("d")), ref)


def _offset(days: int) -> _Handler:
    return lambda m, ref: ref + timedelta(days=days)


def _weekday(m: re.Match[str], ref: date) -> date:
    target = _WEEKDAYS[m.group("wd").lower()]
    ahead = (target - ref.weekday()) % 7
    prefix = (m.group("pre") or "").lower()
    if m.group("nextweek"):
        monday = ref - timedelta(days=ref.weekday()) + timedelta(days=7)
        return monday + timedelta(days=target)
    if ahead == 0 and not prefix.startswith(("this", "dies")):
        ahead = 7
    return ref + timedelta(days=ahead)


def _end_of_week(m: re.Match[str], ref: date) -> date:
    friday = ref + timedelta(days=(4 - ref.weekday()) % 7)
    return friday + timedelta(days=7) if m.group("nxt") else friday


def _end_of_month(m: re.Match[str], ref: date) -> date:
    first_next = date(ref.year + (ref.month == 12), ref.month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def _next_week(m: re.Match[str], ref: date) -> date:
    return ref - timedelta(days=ref.weekday()) + timedelta(days=7)


def _in_days(m: re.Match[str], ref: date) -> date | None:
    raw = m.group("n").lower()
    n = int(raw) if raw.isdigit() else _NUMBERS[raw]
    unit = m.group("unit").lower()
    days = n * 7 if unit.startswith(("week", "woche")) else n
    return ref + timedelta(days=days) if 0 <= days <= 366 else None


# (pattern, resolver, always a deadline). Earlier patterns win over later overlapping ones.
_PATTERNS: list[tuple[re.Pattern[str], _Handler, bool]] = [
    (re.compile(r"(?<![\d.])(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\d])"), _iso, False),
    (
        re.compile(
            r"(?<![\w.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?:(?P<y>\d{4}|\d{2})(?!\d))?(?![\d.])"
        ),
        _numeric,
        False,
    ),
    (
        re.compile(
            rf"\b(?P<d>\d{{1,2}})(?:\.|st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})\b\.?"
            r"(?:,?\s+(?P<y>\d{4})\b)?",
            _I,
        ),
        _named,
        False,
    ),
    (
        re.compile(
            rf"\b(?P<mon>{_MONTH})\.?\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:])\b"
            r"(?:,?\s+(?P<y>\d{4})\b)?",
            _I,
        ),
        _named,
        False,
    ),
    (
        re.compile(
            r"\b(?:EOD|COB|EOB)\b|\b(?:end|close)\s+of\s+(?:the\s+)?(?:business\s+)?day\b|"
            r"\bclose\s+of\s+business\b|\b(?:bis\s+)?(?:heute\s+abend|feierabend|"
            r"dienstschluss)\b",
            _I,
        ),
        _offset(0),
        True,
    ),
    (re.compile(r"\b(?:day\s+after\s+tomorrow|übermorgen)\b", _I), _offset(2), False),
    (re.compile(r"\b(?:today|tonight|heute)\b", _I), _offset(0), False),
    # "morgen" only lowercase: "Morgen" is also the noun ("Guten Morgen", "am Morgen").
    (
        re.compile(r"\b(?:[Tt]omorrow|TOMORROW)\b|(?<!guten )(?<!Guten )\bmorgen\b"),
        _offset(1),
        False,
    ),
    (
        re.compile(
            rf"\b(?:(?P<pre>{_NEXT}|{_THIS})\s+)?(?P<wd>{_WEEKDAY})\b"
            rf"(?P<nextweek>\s+(?:next\s+week|(?:der\s+)?nächste[rn]?\s+woche|"
            rf"(?:der\s+)?kommende[rn]?\s+woche))?",
            _I,
        ),
        _weekday,
        False,
    ),
    (
        re.compile(
            r"\b(?:EOW\b|end\s+of\s+(?:the\s+|this\s+)?week\b|(?:ende|schluss)\s+(?:der|dieser)\s+"
            r"woche\b|(?P<nxt>end\s+of\s+next\s+week\b|ende\s+(?:der\s+)?nächste[nr]\s+woche\b)|"
            r"(?:zum|bis\s+zum|vor\s+dem)\s+wochenende\b)",
            _I,
        ),
        _end_of_week,
        True,
    ),
    (
        re.compile(
            r"\b(?:EOM\b|end\s+of\s+(?:the\s+|this\s+)?month\b|(?:ende|schluss)\s+(?:des|dieses)"
            r"\s+monats\b|monatsende\b)",
            _I,
        ),
        _end_of_month,
        True,
    ),
    (
        re.compile(r"\b(?:next\s+week|(?:nächste|kommende)\s+woche)\b", _I),
        _next_week,
        False,
    ),
    (
        re.compile(
            rf"\b(?:in|within|innerhalb\s+(?:von\s+)?)\s+(?P<n>\d{{1,3}}|{_NUMBER})\s+"
            r"(?P<unit>days?|weeks?|tag(?:e|en)?|wochen?)\b",
            _I,
        ),
        _in_days,
        False,
    ),
]

_DEADLINE_BEFORE = re.compile(
    r"\b(?:by|until|till|til|before|due|deadline|no\s+later\s+than|not\s+later\s+than|latest|"
    r"bis|spätestens|fällig|frist|abgabe|abgabetermin|deadline)\b[^.!?\n]{0,24}$",
    _I,
)
_TIME_AFTER = re.compile(
    r"\s*,?\s*(?P<at>at|um|ab|gegen|@)?\s*(?P<h>\d{1,2})(?:[:.](?P<mi>\d{2}))?\s*"
    r"(?P<suffix>a\.?m\.?|p\.?m\.?|uhr|h)?(?![\w:])",
    _I,
)


def _time_after(text: str, end: int) -> tuple[time | None, int]:
    match = _TIME_AFTER.match(text, end)
    if not match or not (match.group("at") or match.group("mi") or match.group("suffix")):
        return None, end
    hour, minute = int(match.group("h")), int(match.group("mi") or 0)
    suffix = (match.group("suffix") or "").lower().replace(".", "")
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None, end
    return time(hour, minute), match.end()


def find_dates(text: str, reference: date | datetime) -> list[FoundDate]:
    """All dates in ``text``, in order of appearance, resolved against ``reference`` (the date
    the mail was written). Overlapping matches keep the earliest, longest one."""
    ref = reference.date() if isinstance(reference, datetime) else reference
    candidates: list[tuple[int, int, int, date, bool]] = []
    for rank, (pattern, resolve, always_deadline) in enumerate(_PATTERNS):
        for match in pattern.finditer(text):
            value = resolve(match, ref)
            if value is not None:
                candidates.append((match.start(), -match.end(), rank, value, always_deadline))
    found: list[FoundDate] = []
    taken_until = -1
    for start, neg_end, _rank, value, always_deadline in sorted(candidates):
        end = -neg_end
        if start < taken_until:
            continue
        at, end_with_time = _time_after(text, end)
        line_start = max(text.rfind("\n", 0, start), start - 60, 0)
        deadline = always_deadline or bool(_DEADLINE_BEFORE.search(text[line_start:start]))
        found.append(
            FoundDate(
                value=value,
                text=text[start:end_with_time].strip(),
                start=start,
                end=end_with_time,
                deadline=deadline,
                time=at,
            )
        )
        taken_until = end_with_time
    return found


def deadlines(text: str, reference: date | datetime) -> list[FoundDate]:
    """The dates of ``text`` that are deadlines ("by Friday", "bis zum 05.12.", "EOD")."""
    return [d for d in find_dates(text, reference) if d.deadline]
