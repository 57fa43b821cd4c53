"""The search language of PRODUCT_SPEC §2.6: free text, ``"exact phrases"`` and operators.

    invoice from:anna after:2025-01-01 -is:read "quarterly report" -tag:Newsletter

Terms are ANDed; a leading ``-`` negates a term, a phrase or an operator. Operators:
``from: to: subject: has:attachment is:unread|read|starred|snoozed before:`` (exclusive)
``after:`` (inclusive; ``YYYY-MM-DD`` in the user's time zone) ``category: tag:`` (the tag and
its sub-tags) ``in:`` (a folder role or name) ``priority:`` (``high|medium|low``, ``70``,
``60-80``, ``>=70``, ``<40``) ``account:`` (address or name). An unknown operator, or a known
one with a value it cannot take, is searched as text; a bad date is VAL007.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailmind.errors import ValidationFailed

MAX_QUERY_CHARS = 1000
OPERATORS = frozenset(
    {
        "from",
        "to",
        "subject",
        "has",
        "is",
        "before",
        "after",
        "category",
        "tag",
        "in",
        "priority",
        "account",
    }
)
IS_VALUES = frozenset({"unread", "read", "starred", "snoozed"})
HAS_VALUES = frozenset({"attachment", "attachments"})
BANDS = frozenset({"high", "medium", "low"})

# A token: optional "-", then either a quoted phrase, or key:"quoted value", or a bare word.
_TOKEN = re.compile(
    r'(?P<neg>-)?(?:"(?P<phrase>[^"]*)"?|(?P<key>[A-Za-z]+):"(?P<qvalue>[^"]*)"?|(?P<word>\S+))'
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RANGE = re.compile(r"^(\d{1,3})\s*(?:-|\.\.)\s*(\d{1,3})$")
_COMPARE = re.compile(r"^(>=|<=|>|<)?(\d{1,3})$")


@dataclass(frozen=True)
class Operator:
    """``key:value`` after checking; ``value`` is normalised (lower case where it does not
    matter), dates are UTC datetimes, priorities ``(low, high)`` bounds or a band name."""

    key: str
    value: str
    negated: bool = False
    start: datetime | None = None  # before:/after: as an instant
    bounds: tuple[int, int] | None = None  # priority: as an inclusive range


@dataclass(frozen=True)
class Text:
    value: str
    phrase: bool = False
    negated: bool = False


@dataclass
class SearchQuery:
    """A parsed query; ``text`` are the free-text parts in their order."""

    text: list[Text] = field(default_factory=list)
    operators: list[Operator] = field(default_factory=list)
    # The query ended inside a word: its last term is matched as a prefix (search as you type).
    open_ended: bool = False

    @property
    def positive_text(self) -> list[Text]:
        return [t for t in self.text if not t.negated]

    @property
    def has_text(self) -> bool:
        return any(not t.negated for t in self.text)

    def plain_text(self) -> str:
        """The free text without operators, for the embedding of semantic search."""
        return " ".join(t.value for t in self.text if not t.negated)

    def websearch(self, *, prefix_last: bool) -> tuple[str, str | None]:
        """``websearch_to_tsquery`` input and, when the last term is a bare word to match as a
        prefix, that word apart (it is ANDed with ``:*``)."""
        parts = list(self.text)
        prefix: str | None = None
        if prefix_last and parts and not parts[-1].phrase and not parts[-1].negated:
            prefix = parts.pop().value
        rendered = []
        for part in parts:
            value = part.value.replace('"', " ")
            if part.phrase:
                value = f'"{value}"'
            rendered.append(("-" if part.negated else "") + value)
        return " ".join(rendered), prefix

    def normalized(self) -> str:
        """A canonical text of the query (cache keys): order of operators kept, case folded."""
        pieces = [
            ("-" if t.negated else "") + (f'"{t.value.lower()}"' if t.phrase else t.value.lower())
            for t in self.text
        ]
        pieces += [
            ("-" if o.negated else "") + f"{o.key}:{o.value.lower()}" for o in self.operators
        ]
        return " ".join(pieces) + ("*" if self.open_ended else "")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_day(value: str, *, field_name: str = "q") -> date:
    """``YYYY-MM-DD``; anything else is VAL007."""
    if _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationFailed(
        "VAL007", f"Invalid date {value!r}: use YYYY-MM-DD", details={"field": field_name}
    )


def day_start(day: date, timezone: str) -> datetime:
    """Midnight of ``day`` in the user's time zone."""
    return datetime.combine(day, time.min, tzinfo=_zone(timezone))


def _priority(value: str) -> tuple[int, int] | None:
    match = _RANGE.match(value)
    if match:
        low, high = sorted((int(match[1]), int(match[2])))
        return (low, min(high, 100)) if low <= 100 else None
    match = _COMPARE.match(value)
    if not match:
        return None
    number = int(match[2])
    if number > 100:
        return None
    op = match[1] or "="
    return {
        "=": (number, number),
        ">=": (number, 100),
        ">": (number + 1, 100),
        "<=": (0, number),
        "<": (0, number - 1),
    }[op]


def _operator(key: str, value: str, negated: bool, timezone: str) -> Operator | None:
    """The checked operator, or None when the value does not fit (then it is text)."""
    if not value:
        return None
    lowered = value.lower()
    if key == "is":
        return Operator(key, lowered, negated) if lowered in IS_VALUES else None
    if key == "has":
        return Operator(key, "attachment", negated) if lowered in HAS_VALUES else None
    if key in ("before", "after"):
        start = day_start(parse_day(value), timezone)
        return Operator(key, lowered, negated, start=start)
    if key == "priority":
        if lowered in BANDS:
            return Operator(key, lowered, negated)
        bounds = _priority(lowered)
        return Operator(key, lowered, negated, bounds=bounds) if bounds else None
    if key == "category":
        return Operator(key, lowered, negated)
    return Operator(key, value, negated)


def parse_query(q: str, *, timezone: str = "UTC") -> SearchQuery:
    """Parse ``q`` (at most 1000 characters, checked by the endpoint)."""
    query = SearchQuery()
    for match in _TOKEN.finditer(q):
        negated = bool(match["neg"])
        if match["phrase"] is not None:
            words = " ".join(match["phrase"].split())
            if words:
                query.text.append(Text(words, phrase=True, negated=negated))
            continue
        if match["key"] is not None:
            key, value = match["key"].lower(), " ".join(match["qvalue"].split())
        else:
            word = match["word"]
            key, sep, value = word.partition(":")
            key = key.lower()
            if not sep or key not in OPERATORS:
                if word.strip("-"):
                    query.text.append(Text(word, negated=negated))
                continue
        operator = _operator(key, value, negated, timezone) if key in OPERATORS else None
        if operator is None:
            text = f"{key}:{value}".strip(":")
            if text:
                query.text.append(Text(text, negated=negated))
            continue
        query.operators.append(operator)
    last = query.text[-1] if query.text else None
    query.open_ended = bool(
        last
        and not last.phrase
        and not last.negated
        and q
        and not q[-1].isspace()
        and q.rstrip().endswith(last.value)
    )
    return query


def date_bound(value: str | None, timezone: str, *, field_name: str, end: bool) -> datetime | None:
    """``date_from`` / ``date_to`` query parameters: a day (``date_to`` includes it) or an
    ISO 8601 instant; VAL007 otherwise."""
    if value is None or value == "":
        return None
    if _DATE.match(value):
        start = day_start(parse_day(value, field_name=field_name), timezone)
        return start + timedelta(days=1) if end else start
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(
            "VAL007", f"Invalid date {value!r}", details={"field": field_name}
        ) from exc
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=_zone(timezone))
    return instant
