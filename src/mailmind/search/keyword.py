"""Keyword search: PostgreSQL full text over ``messages.search_vector``, with a trigram fallback.

Every message's vector was built at ingest with its own text search configuration
(``messages.language``: ``german``, ``english`` or ``simple``), weighting subject (A) over people
(B), the new body text (C) and attachment names (D). Each word of a query is therefore turned into
one tsquery per configuration, and a word is in a message when its own configuration's query or
the ``simple`` one (unstemmed words, names, stop words of the other language) matches.

Phrases and negations are exact: a message holds every ``"phrase"`` and none of the ``-words``.
The bare words are ranked like a search engine ranks them:

* Messages holding every word come first. When there are enough of them, that is the answer.
* Otherwise messages holding some of the words follow, so that a natural-language query, or one
  with a word the message does not use, still finds it. Words are worth their rarity: each word's
  share of the score is its inverse document frequency, read from the planner's statistics of
  the column (``pg_stats.most_common_elems``, refreshed by autovacuum's ANALYZE), so ``problem``
  counts less than ``Dell``. Words in more than ``COMMON_FREQUENCY`` of the mail only add to the
  score of messages found by the rarer ones, which keeps the set to rank small.
* Within both, a word scores by where it occurs (``ts_rank`` with the weights above, which grows
  sub-linearly with repetitions).

The GIN index answers the match: per word, the ORed queries of the three configurations; the exact
test per message's own configuration follows. The last word of a query typed without a trailing
space matches as a prefix.

Every candidate is read and scored, so a word in a large share of a big mailbox (a colleague's
name, ``linux`` in a list archive) would make a search read thousands of messages. When the words
are expected in more than ``WINDOW_ABOVE`` messages, only the newest mail that should hold about
``WINDOW_MATCHES`` of them is searched first (the date of the user's k-th newest message, read
from ``ix_messages_user_recent``, bounds the match, which PostgreSQL answers by intersecting a
date index with the full-text one): the best of the recent matches, which is what a mail search
is asked for. The whole mailbox is searched when that window holds less than a full page.

When the full text finds little — a misspelt name, a typo in a subject — the trigram indexes on
``subject`` and ``sender_address`` answer by word similarity.
"""

from __future__ import annotations

import html
import math
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Text,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, TSQUERY, TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.models import Message
from mailmind.search.filters import Scope, conditions
from mailmind.search.query import SearchQuery

CONFIGS = ("simple", "english", "german")
# ts_rank weights in the order {D, C, B, A}: attachment names, body, people, subject.
WEIGHTS = (0.1, 0.3, 0.6, 1.0)
_WEIGHTS_SQL = "'{{{}}}'::real[]".format(",".join(str(w) for w in WEIGHTS))
# Partial matches are looked for with the rarest words only, as many as keep the expected number
# of candidates to score under this (the others still add to the candidates' scores): the cost of
# a search stays bounded however large the mailbox.
MAX_CANDIDATES = 1000
# Words expected in more than WINDOW_ABOVE messages are looked for in the newest mail that should
# hold WINDOW_MATCHES of them first (with fewer, a window would save little). Each candidate costs
# tens of microseconds (its vector read and scored), and a page needs the best 20 or so.
WINDOW_MATCHES = 500
WINDOW_ABOVE = 1000
WINDOW_TTL = 60.0
WINDOWS_KEPT = 4096
# Words that rank partial matches, the rarest first; the others still have to match in full.
MAX_RANKED_WORDS = 12
# Fewer full-text hits than this and the trigram fallback is asked too.
FALLBACK_BELOW = 3
TRIGRAM_SCORE = 0.01  # trigram hits rank below every full-text hit of the same list
SNIPPET_CHARS = 200
TRIGRAM_WORDS = 5
# Marks around matches while the headline is still plain text (private-use characters, removed
# from the input first), turned into <mark> after escaping.
_OPEN, _CLOSE = "\ue000", "\ue001"
_HEADLINE_SUBJECT = f"StartSel={_OPEN}, StopSel={_CLOSE}, HighlightAll=true"
_HEADLINE_BODY = (
    f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxFragments=2, MaxWords=18, MinWords=6, "
    'FragmentDelimiter=" … "'
)
# ts_headline's time grows faster than the text it reads: it reads a window of the body, from a
# little before the first word of the body, in its first _HEADLINE_SEEK_CHARS characters, that
# begins with a lexeme of the query (in any case).
_HEADLINE_INPUT_CHARS = 4_000
_HEADLINE_SEEK_CHARS = 50_000
_HEADLINE_LEAD_CHARS = 300
_HEADLINE_NEEDLES = 16
_LEXEME = re.compile(r"'((?:[^']|'')+)'")
_UNSAFE_PREFIX = re.compile(r"[\\'&|!():<>*\"]")
# The planner's most common lexemes of the vector column and their frequencies (share of rows);
# the array of frequencies ends with the smallest and largest of them and the null share.
_LEXEME_STATS = text(
    """
    SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs,
           (SELECT reltuples FROM pg_class WHERE oid = 'messages'::regclass)
    FROM pg_stats AS s
    WHERE s.schemaname = current_schema() AND s.tablename = 'messages'
      AND s.attname = 'search_vector'
    """
)
# The statistics change with ANALYZE only; reading pg_stats costs more than a search.
STATS_TTL = 300.0


@dataclass(frozen=True)
class LexemeStats:
    frequencies: dict[str, float]
    unlisted: float  # the share assumed for a lexeme not listed
    messages: float  # rows of the table, 0 when unknown
    read_at: float


_stats: dict[str, LexemeStats] = {}
# (database, user, number of newest messages) -> (the date they start at, when it was read)
_windows: OrderedDict[tuple[str, uuid.UUID, int], tuple[datetime | None, float]] = OrderedDict()


@dataclass(frozen=True)
class KeywordHit:
    message_id: uuid.UUID
    score: float
    date: datetime | None
    dedupe_key: str | None
    complete: bool = True  # holds every word of the query (not only some)


@dataclass(frozen=True)
class Word:
    """One bare word of a query: its tsquery per configuration (``""`` where the configuration
    drops it as a stop word) and its weight (inverse document frequency)."""

    queries: dict[str, str]
    frequency: float  # share of the mail holding it
    weight: float

    @property
    def stop_word(self) -> bool:
        return not self.queries["english"] or not self.queries["german"]


@dataclass(frozen=True)
class TextQueries:
    """The tsqueries of one search, as text, per configuration: ``phrases`` (every positive
    phrase), ``exclude`` (the negated words and phrases, ``!a & !b``), ``highlight`` (every
    positive word and phrase ORed), and the bare ``words``."""

    words: tuple[Word, ...]
    phrases: dict[str, str] | None
    exclude: dict[str, str] | None
    highlight: dict[str, str]
    messages: float = 0.0  # messages in the table (statistics), 0 when unknown

    @property
    def positive(self) -> bool:
        """The query has words or phrases to rank by."""
        return bool(self.words or self.phrases)

    @property
    def ranked_words(self) -> tuple[Word, ...]:
        """The words that rank partial matches: not stop words, the rarest first."""
        words = [w for w in self.words if not w.stop_word]
        return tuple(sorted(words, key=lambda w: -w.weight)[:MAX_RANKED_WORDS])


def _phrase(value: str) -> str:
    return '"' + value.replace('"', " ") + '"'


async def text_queries(session: AsyncSession, query: SearchQuery) -> TextQueries | None:
    """Build the tsqueries in one round trip and weigh the words by the column's statistics in
    another; None when the query has no free text."""
    if not query.text:
        return None
    positives = query.positive_text
    prefix: str | None = None
    if query.open_ended and positives and positives[-1] is query.text[-1]:
        prefix = _UNSAFE_PREFIX.sub(" ", positives[-1].value).strip() or None
    bare = [t.value.replace('"', " ") for t in positives if not t.phrase]
    if prefix is not None:
        bare.pop()
    phrases = " ".join(_phrase(t.value) for t in positives if t.phrase)
    negated = " ".join(
        "-" + (_phrase(t.value) if t.phrase else t.value) for t in query.text if t.negated
    )
    highlight = " or ".join(
        _phrase(t.value) if t.phrase else t.value.replace('"', " ") for t in positives
    )
    params: dict[str, Any] = {"ph": phrases, "n": negated, "h": highlight}
    columns: list[str] = []
    for config in CONFIGS:
        high = f"websearch_to_tsquery('{config}', :h)"
        if prefix is not None:
            high = f"({high} || to_tsquery('{config}', :p))"
        columns += [
            f"websearch_to_tsquery('{config}', :ph)::text",
            f"websearch_to_tsquery('{config}', :n)::text",
            f"{high}::text",
        ]
    word_texts = [*bare, prefix] if prefix is not None else bare
    for i, word in enumerate(word_texts):
        params[f"w{i}"] = word
        is_prefix = prefix is not None and i == len(word_texts) - 1
        if is_prefix:
            params["p"] = f"'{prefix}':*"
        for config in CONFIGS:
            tsquery = (
                f"to_tsquery('{config}', :p)"
                if is_prefix
                else f"websearch_to_tsquery('{config}', :w{i})"
            )
            columns += [
                f"{tsquery}::text",
                f"tsvector_to_array(to_tsvector('{config}', :w{i}))",
            ]
    row = (await session.execute(text("SELECT " + ", ".join(columns)), params)).one()
    fixed = 3 * len(CONFIGS)

    def per_config(offset: int) -> dict[str, str]:
        return {c: str(row[offset + 3 * i]) for i, c in enumerate(CONFIGS)}

    word_queries: list[dict[str, str]] = []
    word_lexemes: list[list[list[str]]] = []
    for i in range(len(word_texts)):
        base = fixed + 2 * len(CONFIGS) * i
        word_queries.append({c: str(row[base + 2 * j]) for j, c in enumerate(CONFIGS)})
        word_lexemes.append([list(row[base + 2 * j + 1] or []) for j in range(len(CONFIGS))])
    frequencies, messages = await _frequencies(
        session, sorted({lex for lexemes in word_lexemes for per in lexemes for lex in per})
    )
    words = []
    for queries, lexemes in zip(word_queries, word_lexemes, strict=True):
        if not any(queries.values()):
            continue  # punctuation only
        frequency = _word_frequency(lexemes, frequencies)
        words.append(Word(queries=queries, frequency=frequency, weight=math.log(1 / frequency)))
    marks = per_config(2)
    # The simple reading keeps stop words ("a", "for", "und"): marking each of them would clutter
    # a snippet and make ts_headline weigh every place they occur. They are marked when the query
    # has nothing else.
    meaningful = [w.queries["simple"] for w in words if not w.stop_word and w.queries["simple"]]
    if phrases and per_config(0)["simple"]:
        meaningful.append(per_config(0)["simple"])
    if meaningful:
        marks["simple"] = " | ".join(f"( {q} )" for q in dict.fromkeys(meaningful))
    return TextQueries(
        words=tuple(words),
        phrases=per_config(0) if phrases and any(per_config(0).values()) else None,
        exclude=per_config(1) if negated and any(per_config(1).values()) else None,
        highlight=marks,
        messages=messages,
    )


async def _lexeme_stats(session: AsyncSession) -> LexemeStats:
    """The column's lexeme statistics, read at most every ``STATS_TTL`` seconds per database."""
    key = str(session.get_bind().engine.url)
    now = time.monotonic()
    cached = _stats.get(key)
    if cached is not None and now - cached.read_at < STATS_TTL:
        return cached
    row = (await session.execute(_LEXEME_STATS)).first()
    if row is None or not row[0] or not row[1]:
        stats = LexemeStats({}, _UNKNOWN_FREQUENCY, 0.0, now)
    else:
        elems, freqs, tuples = row
        # Lexemes not listed are rarer than the rarest listed one.
        stats = LexemeStats(
            dict(zip(elems, map(float, freqs), strict=False)),
            float(freqs[-3]) / 2,
            max(float(tuples or 0), 0.0),
            now,
        )
    _stats[key] = stats
    return stats


async def _frequencies(session: AsyncSession, lexemes: list[str]) -> tuple[dict[str, float], float]:
    """Each lexeme's share of the rows, and the rows of the table; lexemes not among the most
    common get half the smallest share listed (every lexeme the same share when the column has
    no statistics yet)."""
    if not lexemes:
        return {}, 0.0
    stats = await _lexeme_stats(session)
    return {lex: stats.frequencies.get(lex, stats.unlisted) for lex in lexemes}, stats.messages


_UNKNOWN_FREQUENCY = 0.01


def _word_frequency(lexemes: list[list[str]], frequencies: dict[str, float]) -> float:
    """A word's share of the mail: in each configuration at most that of its rarest lexeme (a
    word of several lexemes needs all of them); the largest over the configurations."""
    shares = [min(frequencies[lex] for lex in per) for per in lexemes if per]
    share = max(shares, default=_UNKNOWN_FREQUENCY)
    return min(max(share, 1e-6), 1.0 - 1e-6)


def _tsquery(value: str) -> ColumnElement[Any]:
    return cast(literal(value, Text), TSQUERY)


def _own(queries: dict[str, str]) -> ColumnElement[Any]:
    """The query in the message's own configuration."""
    q = {c: _tsquery(v) for c, v in queries.items()}
    return case(
        (Message.language == "german", q["german"]),
        (Message.language == "english", q["english"]),
        else_=q["simple"],
    )


def _matches(vector: Any, query: ColumnElement[Any]) -> ColumnElement[bool]:
    return vector.op("@@")(query)  # type: ignore[no-any-return]


def _any_of(values: Sequence[str]) -> ColumnElement[Any] | None:
    """Constant queries ORed (the empty ones left out), for the GIN index to answer."""
    parts = [_tsquery(v) for v in dict.fromkeys(values) if v]
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.op("||")(part)
    return combined


def _holds(
    vector: Any, queries: dict[str, str], *, dropped_holds: bool, language: Any = None
) -> ColumnElement[bool]:
    """The message holds it: in the ``simple`` reading or in its own configuration's; with
    ``dropped_holds`` also when its own configuration drops it (a stop word)."""
    language = Message.language if language is None else language
    tests: list[ColumnElement[bool]] = []
    if queries["simple"]:
        tests.append(_matches(vector, _tsquery(queries["simple"])))
    for config in ("english", "german"):
        if queries[config]:
            tests.append(and_(language == config, _matches(vector, _tsquery(queries[config]))))
        elif dropped_holds:
            tests.append(language == config)
    return or_(*tests) if tests else false()


def _lacks(vector: Any, queries: dict[str, str]) -> ColumnElement[bool]:
    """The message holds none of the (negated) words, in neither reading."""
    tests: list[ColumnElement[bool]] = []
    if queries["simple"]:
        tests.append(_matches(vector, _tsquery(queries["simple"])))
    for config in ("english", "german"):
        if queries[config]:
            tests.append(
                or_(
                    Message.language.is_distinct_from(config),
                    _matches(vector, _tsquery(queries[config])),
                )
            )
    return or_(vector.is_(None), and_(*tests)) if tests else true()


def _text_conditions(queries: TextQueries) -> list[ColumnElement[bool]]:
    """Every phrase and none of the negated words."""
    vector = Message.search_vector
    where: list[ColumnElement[bool]] = []
    if queries.phrases is not None:
        index = _any_of(list(queries.phrases.values()))
        if index is not None:
            where.append(_matches(vector, index))
        where.append(_holds(vector, queries.phrases, dropped_holds=False))
    if queries.exclude is not None:
        where.append(_lacks(vector, queries.exclude))
    return where


async def search(
    session: AsyncSession,
    scope: Scope,
    queries: TextQueries | None,
    *,
    limit: int,
    plain_text: str = "",
) -> list[KeywordHit]:
    """The best ``limit`` messages of ``scope`` for ``queries`` (by date when there is no text
    to rank by): those with every word first, then, when they are fewer than ``limit``, those
    with some."""
    where = conditions(scope)
    if queries is None or not queries.positive:
        if queries is not None:
            where += _text_conditions(queries)
        rows = await session.execute(
            select(Message.id, literal(0.0, Float), Message.date, Message.dedupe_key)
            .where(*where)
            .order_by(Message.date.desc().nulls_last(), Message.id.desc())
            .limit(limit)
        )
        return [KeywordHit(*row) for row in rows]

    where += _text_conditions(queries)
    if not queries.words:
        hits = await _phrase_search(session, where, queries, limit=limit)
    else:
        hits = await _newest_first(session, scope, where, queries, limit=limit, complete=True)
        relaxable = len(queries.words) > 1 or queries.phrases is not None
        if len(hits) < limit and relaxable and queries.ranked_words:
            hits = await _newest_first(session, scope, where, queries, limit=limit, complete=False)
    if len(hits) < FALLBACK_BELOW and plain_text.strip():
        known = {h.message_id for h in hits}
        hits += [
            h
            for h in await trigram(session, scope, plain_text, limit=limit, exclude=queries)
            if h.message_id not in known
        ][: limit - len(hits)]
    return hits


async def _phrase_search(
    session: AsyncSession, where: list[ColumnElement[bool]], queries: TextQueries, *, limit: int
) -> list[KeywordHit]:
    assert queries.phrases is not None
    vector = Message.search_vector
    weights: ColumnElement[Any] = literal_column(_WEIGHTS_SQL)
    rank = func.greatest(
        func.ts_rank_cd(weights, vector, _tsquery(queries.phrases["simple"])),
        func.ts_rank_cd(weights, vector, _own(queries.phrases)),
    ).label("rank")
    rows = await session.execute(
        select(Message.id, rank, Message.date, Message.dedupe_key)
        .where(*where)
        .order_by(rank.desc(), Message.date.desc().nulls_last(), Message.id.desc())
        .limit(limit)
    )
    return [KeywordHit(*row) for row in rows]


def _finders(ranked: Sequence[Word], messages: float) -> tuple[Word, ...]:
    """The rarest words whose messages are expected to number at most ``MAX_CANDIDATES``
    together (at least one word; all of them when the table's size is unknown)."""
    if messages <= 0:
        return tuple(ranked)
    chosen: list[Word] = []
    expected = 0.0
    for word in sorted(ranked, key=lambda w: w.frequency):
        expected += word.frequency * messages
        if chosen and expected > MAX_CANDIDATES:
            break
        chosen.append(word)
    return tuple(chosen)


def _finder_words(queries: TextQueries, *, complete: bool) -> tuple[Word, ...]:
    """The words the index looks for: every one but the stop words when every word is asked
    for, otherwise the rarest ranked words (none when a phrase finds the candidates)."""
    if complete:
        return tuple(w for w in queries.words if not w.stop_word)
    if queries.phrases is not None:
        return ()
    return _finders(queries.ranked_words or queries.words, queries.messages)


def _expected_share(finders: Sequence[Word], *, complete: bool) -> float:
    """The share of the mail expected to hold the finders: all of them (at most the rarest's
    share) or any of them (at most the sum)."""
    if not finders:
        return 1.0
    shares = [w.frequency for w in finders]
    return min(shares) if complete else min(sum(shares), 1.0)


async def _window_start(session: AsyncSession, user_id: uuid.UUID, share: float) -> datetime | None:
    """The date of the user's newest messages expected to hold ``WINDOW_MATCHES`` matches
    when a share ``share`` of all mail matches (their number rounded up to a quarter power of
    two, so that searches share the answer); None when the user has fewer messages than that.
    An index-only scan of ``ix_messages_user_recent``, whose answer is kept ``WINDOW_TTL``
    seconds: new mail moves it little."""
    newest = round(2 ** (math.ceil(4 * math.log2(max(WINDOW_MATCHES / share, 1.0))) / 4))
    key = (str(session.get_bind().engine.url), user_id, newest)
    now = time.monotonic()
    cached = _windows.get(key)
    if cached is not None and now - cached[1] < WINDOW_TTL:
        _windows.move_to_end(key)
        return cached[0]
    start = await session.scalar(
        select(Message.date)
        .where(Message.user_id == user_id, Message.date.is_not(None))
        .order_by(Message.date.desc().nulls_last(), Message.id.desc())
        .offset(newest)
        .limit(1)
    )
    _windows[key] = (start, now)
    while len(_windows) > WINDOWS_KEPT:
        _windows.popitem(last=False)
    return start


async def _newest_first(
    session: AsyncSession,
    scope: Scope,
    where: list[ColumnElement[bool]],
    queries: TextQueries,
    *,
    limit: int,
    complete: bool,
) -> list[KeywordHit]:
    """:func:`_word_search`, in the newest mail first when the words are too common to score
    every message holding them (more than ``WINDOW_ABOVE`` expected); in all of it when that
    mail does not fill ``limit``."""
    finders = _finder_words(queries, complete=complete)
    share = _expected_share(finders, complete=complete)
    if finders and share * queries.messages > WINDOW_ABOVE:
        since = await _window_start(session, scope.user_id, share)
        if since is not None:
            bounded = [*where, Message.date >= since]
            hits = await _word_search(
                session, bounded, queries, finders, limit=limit, complete=complete
            )
            if len(hits) >= limit:
                return hits
    return await _word_search(session, where, queries, finders, limit=limit, complete=complete)


def _reading(word: Word) -> str:
    """The word in any configuration, as tsquery text."""
    return " | ".join(f"({q})" for q in dict.fromkeys(word.queries.values()) if q)


async def _word_search(
    session: AsyncSession,
    where: list[ColumnElement[bool]],
    queries: TextQueries,
    finders: tuple[Word, ...],
    *,
    limit: int,
    complete: bool,
) -> list[KeywordHit]:
    """Messages with every word (``complete``), or with some of the ranked words (at least one
    of the ``finders`` when there are any).

    The score is the weighted share of the ranked words the message holds (each by how well it
    holds it), plus 1 for messages holding every word, so those come first. The words travel as
    arrays, so the statement (and its plan) is the same whatever their number."""
    ranked = queries.ranked_words or queries.words
    words = queries.words if complete else ranked
    index = (" & " if complete else " | ").join(f"({_reading(w)})" for w in finders)
    total = sum(w.weight for w in ranked) or 1.0
    scored_words = {id(w) for w in ranked}

    def array(name: str, values: list[Any], item: Any) -> ColumnElement[Any]:
        return bindparam(name, values, type_=ARRAY(item))

    unnest = (
        func.unnest(
            cast(
                array("w_simple", [w.queries["simple"] or None for w in words], Text),
                ARRAY(TSQUERY),
            ),
            cast(
                array("w_english", [w.queries["english"] or None for w in words], Text),
                ARRAY(TSQUERY),
            ),
            cast(
                array("w_german", [w.queries["german"] or None for w in words], Text),
                ARRAY(TSQUERY),
            ),
            array(
                "w_weight",
                [w.weight / total if id(w) in scored_words else 0.0 for w in words],
                Float,
            ),
            array("w_finder", [w in finders for w in words], Boolean),
        )
        .table_valued("simple", "english", "german", "weight", "finder")
        .render_derived(name="w")
    )

    # The candidates, each vector read (and decompressed) once: the tests and scores below read
    # it once per word.
    candidates = (
        select(
            Message.id,
            Message.date,
            Message.dedupe_key,
            Message.language,
            Message.search_vector.op("||")(cast(literal(""), TSVECTOR)).label("vector"),
        )
        .where(*where, *([_matches(Message.search_vector, _tsquery(index))] if index else []))
        .offset(0)
        .subquery("candidates")
    )
    vector, language = candidates.c.vector, candidates.c.language
    weights: ColumnElement[Any] = literal_column(_WEIGHTS_SQL)

    own_query = case(
        (language == "english", unnest.c.english),
        (language == "german", unnest.c.german),
        else_=literal(None, TSQUERY),
    )
    # Held in the simple reading or the own one; a stop word of the own configuration counts as
    # held when every word is asked for.
    held = or_(
        func.coalesce(_matches(vector, unnest.c.simple), false()),
        func.coalesce(
            _matches(vector, own_query), literal(complete) & language.in_(("english", "german"))
        ),
    )
    rank = func.greatest(
        func.coalesce(func.ts_rank(weights, vector, unnest.c.simple), 0.0),
        func.coalesce(func.ts_rank(weights, vector, own_query), 0.0),
    )
    share = select(func.coalesce(func.sum(unnest.c.weight * rank), 0.0)).scalar_subquery()
    holds_all = select(func.bool_and(held)).scalar_subquery()
    scored = select(
        candidates.c.id,
        candidates.c.date,
        candidates.c.dedupe_key,
        share.label("share"),
        holds_all.label("whole"),
    )
    if not complete and finders:
        scored = scored.where(select(func.bool_or(and_(unnest.c.finder, held))).scalar_subquery())
    elif complete:
        scored = scored.where(holds_all)
    inner = scored.offset(0).subquery("scored")
    score = (
        case((inner.c.whole, literal(1.0, Float)), else_=literal(0.0, Float)) + inner.c.share
    ).label("score")
    rows = await session.execute(
        select(inner.c.id, score, inner.c.date, inner.c.dedupe_key)
        .order_by(score.desc(), inner.c.date.desc().nulls_last(), inner.c.id.desc())
        .limit(limit)
    )
    return [
        KeywordHit(row[0], float(row[1]), row[2], row[3], complete=row[1] >= 1.0) for row in rows
    ]


async def trigram(
    session: AsyncSession,
    scope: Scope,
    words: str,
    *,
    limit: int,
    exclude: TextQueries | None = None,
) -> list[KeywordHit]:
    """Messages whose subject or sender address holds a word like ``words`` (pg_trgm word
    similarity, answered by the trigram indexes), without those holding ``exclude``'s negated
    words."""
    term = words.strip()[:200]
    where = conditions(scope)
    if exclude is not None and exclude.exclude is not None:
        where.append(_lacks(Message.search_vector, exclude.exclude))
    # Every word must resemble a word of the subject or the sender's address.
    words_list = [w for w in term.split() if len(w) >= 3][:TRIGRAM_WORDS]
    if not words_list:
        return []
    scores = []
    for n, word in enumerate(words_list):
        value = bindparam(f"trgm{n}", word, type_=Text)
        where.append(or_(value.op("<%")(Message.subject), value.op("<%")(Message.sender_address)))
        scores.append(
            func.greatest(
                func.word_similarity(value, Message.subject),
                func.word_similarity(value, Message.sender_address),
            )
        )
    similarity = sum(scores[1:], scores[0]).label("similarity")
    rows = await session.execute(
        select(Message.id, similarity, Message.date, Message.dedupe_key)
        .where(*where)
        .order_by(similarity.desc(), Message.date.desc().nulls_last())
        .limit(limit)
    )
    return [
        KeywordHit(row[0], TRIGRAM_SCORE * float(row[1]) / len(words_list), row[2], row[3])
        for row in rows
    ]


def render_headline(marked: str, limit: int | None = None) -> str:
    """Escape a headline and turn its match marks into ``<mark>``; at most ``limit`` visible
    characters."""
    if limit is not None:
        visible = 0
        cut: list[str] = []
        for char in marked:
            if char in (_OPEN, _CLOSE):
                cut.append(char)
                continue
            if visible >= limit:
                cut.append("…")
                break
            cut.append(char)
            visible += 1
        marked = "".join(cut)
        if marked.count(_OPEN) > marked.count(_CLOSE):
            marked += _CLOSE
    escaped = html.escape(marked, quote=False)
    return escaped.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


def _clean(column: Any, chars: int | None = None) -> ColumnElement[Any]:
    value = func.left(column, chars) if chars else column
    return func.translate(value, _OPEN + _CLOSE, "")


async def headlines(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    queries: TextQueries | None,
) -> dict[uuid.UUID, tuple[str, str]]:
    """``(subject, body)`` snippets with the query's words in ``<mark>`` (escaped HTML)."""
    if not ids:
        return {}
    if queries is None:
        rows = await session.execute(
            select(Message.id, Message.subject, Message.preview).where(Message.id.in_(ids))
        )
        return {
            row[0]: (html.escape(row[1], quote=False), html.escape(row[2][:SNIPPET_CHARS]))
            for row in rows
        }
    highlight = cast(literal(queries.highlight["simple"], Text), TSQUERY).op("||")(
        _own(queries.highlight)
    )
    config = cast(Message.language, REGCONFIG)
    body_source = func.coalesce(func.nullif(Message.body_new_text, ""), Message.body_text)
    needles = _needles(queries)
    start: ColumnElement[Any] = literal(1)
    if needles:
        # One case-insensitive pass of PostgreSQL's regular expressions over the beginning.
        found_at = func.regexp_instr(
            func.left(body_source, _HEADLINE_SEEK_CHARS),
            bindparam(
                "needles", "\\m(" + "|".join(re.escape(n) for n in needles) + ")", type_=Text
            ),
            1,
            1,
            0,
            "i",
        )
        start = func.greatest(found_at - _HEADLINE_LEAD_CHARS, 1)
    body_window = func.substr(body_source, start, _HEADLINE_INPUT_CHARS)
    rows = await session.execute(
        select(
            Message.id,
            func.ts_headline(
                config,
                _clean(Message.subject),
                highlight,
                literal_column(_sql_string(_HEADLINE_SUBJECT)),
            ),
            func.ts_headline(
                config,
                _clean(body_window),
                highlight,
                literal_column(_sql_string(_HEADLINE_BODY)),
            ),
        ).where(Message.id.in_(ids))
    )
    return {
        row[0]: (render_headline(row[1]), render_headline(" ".join(row[2].split()), SNIPPET_CHARS))
        for row in rows
    }


def _needles(queries: TextQueries) -> list[str]:
    """The words to highlight as the simple reading has them (unstemmed, lower case, no stop
    words unless the query has nothing else), to find where the body holds them."""
    lexemes = {
        m.replace("''", "'").lower()
        for m in _LEXEME.findall(queries.highlight["simple"])
        if m.strip()
    }
    return sorted(lexemes)[:_HEADLINE_NEEDLES]


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
