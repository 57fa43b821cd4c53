"""Search, Ask your inbox and related mail (PRODUCT_SPEC §2.6).

Everything here reads only the caller's mail: every query starts from ``user_id`` (see
:mod:`mailmind.search.filters`), for the keyword and the semantic lists alike.
"""

from __future__ import annotations

import importlib
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from pydantic import BaseModel
from sqlalchemy import func, or_
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.ai.local.text import mail_language
from mailmind.auth.principal import AuthUser
from mailmind.config import parse_rate
from mailmind.errors import RateLimited, ValidationFailed
from mailmind.integrations.ai.base import GenerationProvider, get_provider
from mailmind.kit.pagination import decode_cursor, encode_cursor
from mailmind.message import repository as message_repo
from mailmind.message import service as message_service
from mailmind.message.schemas import AddressRead
from mailmind.models import Message, User
from mailmind.runtime import Runtime
from mailmind.search import cache, keyword, semantic
from mailmind.search.filters import Scope
from mailmind.search.hybrid import Fused, collapse, fuse
from mailmind.search.query import SearchQuery, date_bound, parse_query
from mailmind.search.schemas import (
    AskAnswer,
    AskRequest,
    Citation,
    Highlights,
    Matched,
    RelatedEmail,
    RelatedPage,
    SearchHit,
    SearchMode,
    SearchPage,
)

log = structlog.get_logger(__name__)

# Each list of a hybrid search holds 4× the page (PRODUCT_SPEC §2.6).
LIST_FACTOR = 4
MAX_OFFSET = 1000
ASK_PASSAGES = 8  # chunks given to the answer
ASK_EXTRACTIVE_PASSAGES = 4
PASSAGE_CHARS = 400
NOTHING_FOUND = "I found nothing in your mail about that."
# The extractive answer speaks the question's language (English unless it reads as German).
_NOTHING_FOUND = {"en": NOTHING_FOUND, "de": "Dazu habe ich in deinen E-Mails nichts gefunden."}
_ANSWER_LEAD = {"en": "From your mail:", "de": "Aus deinen E-Mails:"}


# --- search ---------------------------------------------------------------------------------------


async def check_rate(runtime: Runtime, user_id: uuid.UUID) -> None:
    """``RATE_LIMIT_SEARCH`` (20/min) per user: RATE001 with ``details.limit = "search"``."""
    limit, window = parse_rate(runtime.settings.rate_limit_search)
    hits, retry_after = await runtime.store.incr_window(f"rl:search:{user_id}", window)
    if hits > limit:
        raise RateLimited("RATE001", retry_after, details={"limit": "search"})


def _offset(cursor: str | None) -> int:
    values = decode_cursor(cursor, 1)
    if values is None:
        return 0
    offset = values[0]
    if not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise ValidationFailed("VAL002", "Invalid cursor", details={"field": "cursor"})
    return offset


@dataclass
class Ranked:
    """One result before rendering."""

    message_id: uuid.UUID
    score: float
    matched: Matched
    passage: str | None = None


@dataclass
class Retrieval:
    ranked: list[Ranked]
    mode_used: SearchMode
    queries: keyword.TextQueries | None
    semantic: list[semantic.SemanticHit] = field(default_factory=list)


async def _query_vector(
    session: AsyncSession, runtime: Runtime, user_id: uuid.UUID, text: str
) -> Any:
    """The query's embedding, or None when vectors cannot be used (no embedder, nothing of the
    user's embedded yet, or embedding failed)."""
    if not text.strip():
        return None
    embedder = semantic.get_embedder(runtime)
    if embedder is None or not await semantic.has_vectors(session, user_id):
        return None
    return await semantic.embed_query(runtime, embedder, text)


async def retrieve(
    session: AsyncSession,
    runtime: Runtime,
    query: SearchQuery,
    scope: Scope,
    *,
    mode: SearchMode,
    depth: int,
) -> Retrieval:
    """The ranked messages of ``scope`` for ``query``: ``depth`` of them at most."""
    vector = None
    if mode != "keyword":
        vector = await _query_vector(session, runtime, scope.user_id, query.plain_text())
    queries = await keyword.text_queries(session, query)
    min_similarity = runtime.settings.search_min_similarity
    if vector is None:
        hits = await keyword.search(
            session, scope, queries, limit=depth, plain_text=query.plain_text()
        )
        ranked = [Ranked(h.message_id, h.score, "keyword") for h in collapse(hits)]
        return Retrieval(ranked, "keyword", queries)
    if mode == "semantic":
        found = await semantic.search(
            session, scope, vector, limit=depth, min_similarity=min_similarity
        )
        ranked = [Ranked(h.message_id, h.score, "semantic", h.passage) for h in collapse(found)]
        return Retrieval(ranked, "semantic", queries, found)
    list_depth = LIST_FACTOR * depth
    hits = await keyword.search(
        session, scope, queries, limit=list_depth, plain_text=query.plain_text()
    )
    found = await semantic.search(
        session, scope, vector, limit=list_depth, min_similarity=min_similarity
    )
    fused: list[Fused] = fuse(hits, found)[:depth]
    ranked = [Ranked(f.message_id, f.score, f.matched, f.passage) for f in fused]
    return Retrieval(ranked, "hybrid", queries, found)


async def search(
    session: AsyncSession,
    runtime: Runtime,
    user: AuthUser,
    *,
    q: str,
    mode: SearchMode,
    limit: int,
    cursor: str | None,
    date_from: str | None,
    date_to: str | None,
) -> SearchPage:
    await check_rate(runtime, user.id)
    query = parse_query(q, timezone=user.timezone)
    start = date_bound(date_from, user.timezone, field_name="date_from", end=False)
    end = date_bound(date_to, user.timezone, field_name="date_to", end=True)
    offset = _offset(cursor)
    request = orjson.dumps(
        [query.normalized(), mode, limit, offset, date_from, date_to, user.timezone]
    ).decode()
    key = await cache.result_key(runtime.store, user.id, request)
    cached = await cache.get(runtime.store, key)
    if cached is not None:
        return SearchPage.model_validate_json(cached)

    scope = Scope.of(user.id, query, date_from=start, date_to=end)
    found = await retrieve(session, runtime, query, scope, mode=mode, depth=offset + limit + 1)
    page = found.ranked[offset : offset + limit]
    more = len(found.ranked) > offset + limit
    items = await _render(session, page, found.queries)
    result = SearchPage(
        items=items,
        next_cursor=encode_cursor(offset + limit) if more else None,
        mode_used=found.mode_used,
    )
    await cache.put(runtime.store, key, result.model_dump_json())
    return result


async def _render(
    session: AsyncSession, page: Sequence[Ranked], queries: keyword.TextQueries | None
) -> list[SearchHit]:
    ids = [r.message_id for r in page]
    messages = {m.id: m for m in await message_repo.messages_with_ids(session, ids, summary=True)}
    summaries = {s.id: s for s in await message_service.summaries(session, list(messages.values()))}
    marked = await keyword.headlines(session, ids, queries)
    items: list[SearchHit] = []
    for r in page:
        if r.message_id not in summaries:
            continue  # deleted meanwhile
        subject, body = marked.get(r.message_id, ("", ""))
        if r.matched == "semantic" and r.passage and "<mark>" not in body:
            body = keyword.render_headline(" ".join(r.passage.split()), keyword.SNIPPET_CHARS)
        items.append(
            SearchHit(
                email=summaries[r.message_id],
                score=round(r.score, 6),
                matched=r.matched,
                highlights=Highlights(subject=subject, body=body),
            )
        )
    return items


# --- related mail ---------------------------------------------------------------------------------


async def related(
    session: AsyncSession, runtime: Runtime, message: Message, *, limit: int
) -> RelatedPage:
    """The messages nearest to ``message`` by embedding: same owner, other threads."""
    vector = await semantic.message_vector(session, message.id)
    if vector is None:
        return RelatedPage(items=[])
    extra: list[Any] = [Message.id != message.id]
    if message.thread_id is not None:
        extra.append(or_(Message.thread_id.is_(None), Message.thread_id != message.thread_id))
    if message.dedupe_key:
        extra.append(func.coalesce(Message.dedupe_key, "") != message.dedupe_key)
    scope = Scope(user_id=message.user_id, extra=extra)
    found = collapse(
        await semantic.search(
            session,
            scope,
            vector,
            limit=limit,
            min_similarity=runtime.settings.search_min_similarity,
        )
    )
    messages = {
        m.id: m
        for m in await message_repo.messages_with_ids(
            session, [h.message_id for h in found], summary=True
        )
    }
    summaries = {s.id: s for s in await message_service.summaries(session, list(messages.values()))}
    return RelatedPage(
        items=[
            RelatedEmail(email=summaries[h.message_id], score=round(h.score, 6))
            for h in found
            if h.message_id in summaries
        ]
    )


# --- ask your inbox -------------------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n{2,}")
_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "say",
        "said",
        "she",
        "that",
        "the",
        "their",
        "them",
        "there",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "any",
        "anything",
        "was",
        "der",
        "die",
        "das",
        "und",
        "ist",
        "nicht",
        "ich",
        "sie",
        "es",
        "wir",
        "ihr",
        "mit",
        "auf",
        "für",
        "ein",
        "eine",
        "einen",
        "dem",
        "den",
        "des",
        "zu",
        "von",
        "im",
        "was",
        "wer",
        "wie",
        "wo",
        "wann",
        "warum",
        "welche",
        "hat",
        "haben",
        "über",
        "mir",
        "mich",
        "uns",
    ]
)


def _terms(text: str) -> set[str]:
    return {w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOP}


def _best_sentences(text: str, terms: set[str], *, chars: int = PASSAGE_CHARS) -> tuple[str, int]:
    """The sentences of ``text`` that share the most words with the question, in their order,
    within ``chars``; and how many question words the passage holds."""
    sentences = [" ".join(s.split()) for s in _SENTENCE.split(text) if s.strip()]
    if not sentences:
        return "", 0
    scored = sorted(
        range(len(sentences)),
        key=lambda i: (len(_terms(sentences[i]) & terms), -i),
        reverse=True,
    )
    chosen: list[int] = []
    used = 0
    for i in scored:
        if used and used + len(sentences[i]) > chars:
            continue
        chosen.append(i)
        used += len(sentences[i]) + 1
        if used >= chars:
            break
    passage = " ".join(sentences[i] for i in sorted(chosen))
    if len(passage) > chars:
        passage = passage[: chars - 1].rstrip() + "…"
    return passage, len(_terms(passage) & terms)


@dataclass
class AskPlan:
    """What the answer is made of: the question and its numbered passages."""

    question: str
    passages: list[str]
    citations: list[Citation]
    provider: GenerationProvider | None = None  # set when a remote answer is allowed
    max_chars: int = 8000


def _scope(user: AuthUser, body: AskRequest, query: SearchQuery) -> Scope:
    f = body.filters
    return Scope.of(
        user.id,
        query,
        date_from=date_bound(f.date_from, user.timezone, field_name="filters.date_from", end=False),
        date_to=date_bound(f.date_to, user.timezone, field_name="filters.date_to", end=True),
        account_ids=tuple(f.account_ids),
        folder_id=f.folder_id,
        sender=f.sender,
        category=f.category,
        tags=tuple(f.tags),
    )


async def prepare_ask(
    session: AsyncSession, runtime: Runtime, user: AuthUser, body: AskRequest
) -> AskPlan:
    """Hybrid retrieval over the asker's own mail and the passages to answer from."""
    query = parse_query(body.question, timezone=user.timezone)
    query.open_ended = False
    scope = _scope(user, body, query)
    found = await retrieve(session, runtime, query, scope, mode="hybrid", depth=ASK_PASSAGES * 2)
    terms = _terms(query.plain_text())
    need = max(1, math.ceil(len(terms) / 2))
    best_chunk = {h.message_id: h for h in found.semantic}
    messages = {
        m.id: m
        for m in await message_repo.messages_with_ids(session, [r.message_id for r in found.ranked])
    }
    passages: list[str] = []
    citations: list[Citation] = []
    for r in found.ranked:
        message = messages.get(r.message_id)
        if message is None or message.user_id != user.id:
            continue
        sem = best_chunk.get(r.message_id)
        source = sem.passage if sem else (message.body_new_text or message.body_text)[:20_000]
        passage, overlap = _best_sentences(f"{message.subject}.\n\n{source}", terms)
        # A keyword-only hit must hold half the question's words: one common word is not
        # evidence. A semantic hit already passed SEARCH_MIN_SIMILARITY.
        if not passage or (sem is None and overlap < need):
            continue
        passages.append(passage)
        citations.append(
            Citation(
                email_id=message.id,
                subject=message.subject,
                sender=AddressRead(name=message.sender_name, address=message.sender_address),
                date=message.date,
                snippet=passage[:200],
            )
        )
        if len(passages) >= ASK_PASSAGES:
            break
    provider = await _provider(session, runtime, user.id) if passages else None
    return AskPlan(
        question=body.question,
        passages=passages,
        citations=citations,
        provider=provider,
        max_chars=runtime.settings.ai_remote_max_chars,
    )


async def _provider(
    session: AsyncSession, runtime: Runtime, user_id: uuid.UUID
) -> GenerationProvider | None:
    """The user's generation provider when a remote answer is allowed, else None (local-only
    server or user, AI switched off, no provider configured, or the hourly quota spent)."""
    user = await session.get(User, user_id)
    ai_settings = (user.settings if user else {}).get("ai") or {}
    provider = get_provider(runtime, ai_settings)
    if provider is None:
        return None
    # The hourly remote quota belongs to the assistant package; asked when it offers the check.
    try:
        assistant = importlib.import_module("mailmind.assistant.service")
    except ImportError:
        return provider
    allowed = getattr(assistant, "remote_allowed", None)
    if allowed is not None and not await allowed(runtime, session, user_id, "ask"):
        return None
    return provider


def extractive(plan: AskPlan) -> AskAnswer:
    language = mail_language(None, plan.question)
    if not plan.passages:
        return AskAnswer(answer=_NOTHING_FOUND[language], citations=[], mode="extractive")
    shown = plan.passages[:ASK_EXTRACTIVE_PASSAGES]
    lines = [f"{passage} [{n}]" for n, passage in enumerate(shown, start=1)]
    return AskAnswer(
        answer=f"{_ANSWER_LEAD[language]}\n\n" + "\n\n".join(lines),
        citations=plan.citations[: len(shown)],
        mode="extractive",
    )


_SYSTEM = (
    "You answer questions about the user's own email. Use only the numbered passages given; "
    "never outside knowledge. After every claim cite its passage as [n]. If the passages do not "
    "answer the question, say so briefly and cite nothing. Answer in the question's language."
)


class _GeneratedAnswer(BaseModel):
    answer: str


_MARKER = re.compile(r"\[(\d{1,2})\]")


async def answer(plan: AskPlan) -> AskAnswer:
    """The answer: written by the provider from the passages when one is allowed (citations
    renumbered to those it used), else the passages themselves."""
    if not plan.passages:
        return extractive(plan)
    if plan.provider is None:
        return extractive(plan)
    budget = plan.max_chars
    numbered = []
    for n, passage in enumerate(plan.passages, start=1):
        citation = plan.citations[n - 1]
        who = citation.sender.name or citation.sender.address
        block = f"[{n}] {citation.subject} — {who}: {passage}"
        if budget - len(block) < 0:
            break
        budget -= len(block)
        numbered.append(block)
    prompt = f"Question: {plan.question}\n\nPassages:\n" + "\n".join(numbered)
    try:
        output, _usage = await plan.provider.complete_json(
            system=_SYSTEM, prompt=prompt, schema=_GeneratedAnswer, max_tokens=600, timeout=30.0
        )
        text = str(output["answer"]).strip()
    except Exception as exc:  # the provider failing leaves the extractive answer
        log.warning("ask_generation_failed", error=type(exc).__name__)
        return extractive(plan)
    used: dict[int, int] = {}
    for match in _MARKER.finditer(text):
        n = int(match[1])
        if 1 <= n <= len(numbered) and n not in used:
            used[n] = len(used) + 1
    if not used:
        return AskAnswer(answer=text or NOTHING_FOUND, citations=[], mode="generative")

    def renumber(match: re.Match[str]) -> str:
        n = int(match[1])
        return f"[{used[n]}]" if n in used else ""

    citations = [plan.citations[n - 1] for n in sorted(used, key=used.__getitem__)]
    return AskAnswer(answer=_MARKER.sub(renumber, text), citations=citations, mode="generative")


def answer_pieces(text: str) -> list[str]:
    """The answer in sentence-sized pieces for the event stream (joined they are the answer)."""
    pieces = re.split(r"(?<=[.!?\n])(?=\s)", text)
    return [p for p in pieces if p]
