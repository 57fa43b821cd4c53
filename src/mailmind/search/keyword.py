"""Keyword search: PostgreSQL full text over ``messages.search_vector``, with a trigram fallback.

Every message's vector was built at ingest with its own text search configuration
(``messages.language``: ``german``, ``english`` or ``simple``), weighting subject (A) over people
(B), the new body text (C) and attachment names (D). A query is therefore turned into one
tsquery per configuration; a message matches its own configuration's query or the ``simple``
one (unstemmed words, names, stop words of the other language), and is ranked by
``ts_rank_cd`` with those weights. The three queries are ORed once more so that the GIN index
answers the match. The last word of a query typed without a trailing space matches as a prefix.

When the full text finds little — a misspelt name, a typo in a subject — the trigram indexes on
``subject`` and ``sender_address`` answer by word similarity.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.models import Message
from mailmind.search.filters import Scope, conditions
from mailmind.search.query import SearchQuery

CONFIGS = ("simple", "english", "german")
# ts_rank_cd weights in the order {D, C, B, A}: attachment names, body, people, subject.
WEIGHTS = (0.1, 0.3, 0.6, 1.0)
_WEIGHTS_SQL = "'{{{}}}'::real[]".format(",".join(str(w) for w in WEIGHTS))
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
_HEADLINE_INPUT_CHARS = 20_000
_UNSAFE_PREFIX = re.compile(r"[\\'&|!():<>*\"]")


@dataclass(frozen=True)
class KeywordHit:
    message_id: uuid.UUID
    score: float
    date: datetime | None
    dedupe_key: str | None


@dataclass(frozen=True)
class TextQueries:
    """The tsqueries of one search, as text, per configuration: ``match`` (the query's logic,
    negations included) and ``highlight`` (its positive words ORed)."""

    match: dict[str, str]
    highlight: dict[str, str]
    positive: bool  # the query has words to rank by
    # The negated words alone (``!a & !b``), which the trigram fallback must respect too.
    exclude: dict[str, str] | None = None

    def match_query(self, config: str) -> ColumnElement[Any]:
        return cast(literal(self.match[config], Text), TSQUERY)


async def text_queries(
    session: AsyncSession, query: SearchQuery, *, any_terms: bool = False
) -> TextQueries | None:
    """Build the tsqueries in one round trip; None when the query has no free text.

    ``any_terms`` ORs the words instead of ANDing them (negations still apply): the keyword
    list of a hybrid search and Ask's questions, where a message holding most of the words is
    evidence, not only one holding all of them; ``ts_rank_cd`` ranks the ones with more first."""
    if not query.text:
        return None
    if any_terms:
        positives = query.positive_text
        prefix = None
        if query.open_ended and positives and positives[-1] is query.text[-1]:
            prefix = positives.pop().value
        websearch = " or ".join(
            f'"{t.value}"' if t.phrase else t.value.replace('"', " ") for t in positives
        )
    else:
        websearch, prefix = query.websearch(prefix_last=query.open_ended)
    highlight_words = " or ".join(
        f'"{t.value}"' if t.phrase else t.value.replace('"', " ") for t in query.positive_text
    )
    negated = " ".join(
        "-" + (f'"{t.value}"' if t.phrase else t.value.replace('"', " "))
        for t in query.text
        if t.negated
    )
    prefix_text = _UNSAFE_PREFIX.sub(" ", prefix).strip() if prefix else ""
    columns = []
    params: dict[str, Any] = {
        "w": websearch,
        "h": highlight_words,
        "n": negated,
        "p": f"'{prefix_text}':*",
    }
    for config in CONFIGS:
        match = f"websearch_to_tsquery('{config}', :w)"
        high = f"websearch_to_tsquery('{config}', :h)"
        if prefix_text:
            join = "||" if any_terms else "&&"
            match = f"({match} {join} to_tsquery('{config}', :p))"
            high = f"({high} || to_tsquery('{config}', :p))"
        if any_terms and negated:
            match = f"({match} && websearch_to_tsquery('{config}', :n))"
        columns.append(f"{match}::text, {high}::text, websearch_to_tsquery('{config}', :n)::text")
    row = (await session.execute(text("SELECT " + ", ".join(columns)), params)).one()
    return TextQueries(
        match={config: str(row[3 * i]) for i, config in enumerate(CONFIGS)},
        highlight={config: str(row[3 * i + 1]) for i, config in enumerate(CONFIGS)},
        positive=query.has_text,
        exclude={config: str(row[3 * i + 2]) for i, config in enumerate(CONFIGS)}
        if negated
        else None,
    )


def _own(queries: dict[str, str]) -> ColumnElement[Any]:
    """The query in the message's own configuration."""
    q = {c: cast(literal(v, Text), TSQUERY) for c, v in queries.items()}
    return case(
        (Message.language == "german", q["german"]),
        (Message.language == "english", q["english"]),
        else_=q["simple"],
    )


def _matches(vector: Any, query: ColumnElement[Any]) -> ColumnElement[bool]:
    return vector.op("@@")(query)  # type: ignore[no-any-return]


async def search(
    session: AsyncSession,
    scope: Scope,
    queries: TextQueries | None,
    *,
    limit: int,
    plain_text: str = "",
) -> list[KeywordHit]:
    """The best ``limit`` messages of ``scope`` for ``queries`` (by date when there is no text
    to rank by)."""
    where = conditions(scope)
    vector = Message.search_vector
    if queries is None or not queries.positive:
        if queries is not None:  # only negated words: keep the mail without them
            where.append(or_(vector.is_(None), _matches(vector, _own(queries.match))))
        rows = await session.execute(
            select(Message.id, literal(0.0, Float), Message.date, Message.dedupe_key)
            .where(*where)
            .order_by(Message.date.desc().nulls_last(), Message.id.desc())
            .limit(limit)
        )
        return [KeywordHit(*row) for row in rows]

    simple = queries.match_query("simple")
    own = _own(queries.match)
    # One OR over constant queries for the GIN index, then the exact test per message.
    where.append(or_(*(_matches(vector, queries.match_query(c)) for c in CONFIGS)))
    where.append(or_(_matches(vector, simple), _matches(vector, own)))
    weights: ColumnElement[Any] = literal_column(_WEIGHTS_SQL)
    rank = func.greatest(
        func.ts_rank_cd(weights, vector, simple), func.ts_rank_cd(weights, vector, own)
    ).label("rank")
    rows = await session.execute(
        select(Message.id, rank, Message.date, Message.dedupe_key)
        .where(*where)
        .order_by(rank.desc(), Message.date.desc().nulls_last(), Message.id.desc())
        .limit(limit)
    )
    hits = [KeywordHit(*row) for row in rows]
    if len(hits) < FALLBACK_BELOW and plain_text.strip():
        known = {h.message_id for h in hits}
        hits += [
            h
            for h in await trigram(session, scope, plain_text, limit=limit, exclude=queries)
            if h.message_id not in known
        ][: limit - len(hits)]
    return hits


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
        vector = Message.search_vector
        where.append(
            or_(
                vector.is_(None),
                and_(
                    _matches(vector, cast(literal(exclude.exclude["simple"], Text), TSQUERY)),
                    _matches(vector, _own(exclude.exclude)),
                ),
            )
        )
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
                _clean(body_source, _HEADLINE_INPUT_CHARS),
                highlight,
                literal_column(_sql_string(_HEADLINE_BODY)),
            ),
        ).where(Message.id.in_(ids))
    )
    return {
        row[0]: (render_headline(row[1]), render_headline(" ".join(row[2].split()), SNIPPET_CHARS))
        for row in rows
    }


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
