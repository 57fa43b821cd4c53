"""Semantic search: cosine similarity between the query's embedding and the user's message
chunks (pgvector, ``message_chunks.embedding``, HNSW).

Every query is filtered by owner first. The HNSW index is shared by all users, so a plain index
scan would return the ``ef_search`` nearest chunks of *everyone* and keep the few that are the
user's; pgvector's iterative index scans (``hnsw.iterative_scan = relaxed_order``) keep walking
the graph until enough chunks pass the owner and the search filters, which keeps recall high
for a user who holds a small share of the table. Relaxed order means the rows come back nearly
sorted, so they are sorted again by distance. Chunks are then grouped by message (best chunk
wins).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog
from pgvector.sqlalchemy import Vector
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mailmind.integrations.ai import embeddings
from mailmind.integrations.ai.embeddings import Embedder
from mailmind.models import Message, MessageChunk
from mailmind.models.message import EMBEDDING_DIMENSIONS
from mailmind.redis import StoreUnavailable
from mailmind.search.filters import Scope, conditions

if TYPE_CHECKING:
    from mailmind.runtime import Runtime

log = structlog.get_logger(__name__)

# Query embeddings are cached as long as the spec's embedding cache (PRODUCT_SPEC §6).
EMBEDDING_TTL = 604_800
# The HNSW walk keeps going until this many tuples were visited (pgvector's default is 20,000):
# enough for a user with a small share of a large table.
MAX_SCAN_TUPLES = 50_000


@dataclass(frozen=True)
class ChunkHit:
    message_id: uuid.UUID
    chunk_index: int
    text: str
    similarity: float


@dataclass(frozen=True)
class SemanticHit:
    message_id: uuid.UUID
    score: float  # the best chunk's cosine similarity
    date: datetime | None
    dedupe_key: str | None
    passage: str  # the best chunk's text
    chunks: tuple[ChunkHit, ...] = ()


def get_embedder(runtime: Runtime) -> Embedder | None:
    """The embedder of stored chunks (queries must use the same model), or None when it cannot
    be had (then search falls back to keywords)."""
    try:
        return embeddings.get_embedder(runtime)
    except Exception as exc:  # a missing or damaged model must not break keyword search
        log.warning("embedder_unavailable", error=type(exc).__name__)
        return None


async def embed_query(runtime: Runtime, embedder: Embedder, text: str) -> np.ndarray | None:
    """The normalised embedding of ``text`` (cached in the store); None when embedding fails."""
    digest = hashlib.sha256(f"{embedder.model_name}\0{text}".encode()).hexdigest()
    key = f"search:emb:{digest}"
    try:
        cached = await runtime.store.get(key)
    except StoreUnavailable:
        cached = None
    if cached:
        return np.frombuffer(base64.b64decode(cached), dtype=np.float32)
    try:
        vectors = await embedder.embed([text])
    except Exception as exc:
        log.warning("query_embedding_failed", error=type(exc).__name__)
        return None
    vector = np.asarray(vectors[0], dtype=np.float32)
    with contextlib.suppress(StoreUnavailable):
        await runtime.store.set(key, base64.b64encode(vector.tobytes()).decode(), EMBEDDING_TTL)
    return vector


async def has_vectors(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether any of the user's mail is embedded yet."""
    found = await session.scalar(select(exists().where(MessageChunk.user_id == user_id)))
    return bool(found)


async def _tune(session: AsyncSession, ef_search: int) -> None:
    # SET LOCAL: for this transaction only, so a pooled connection keeps its defaults.
    await session.execute(
        select(
            func.set_config("hnsw.iterative_scan", "relaxed_order", True),
            func.set_config("hnsw.ef_search", str(ef_search), True),
            func.set_config("hnsw.max_scan_tuples", str(MAX_SCAN_TUPLES), True),
        )
    )


async def nearest_chunks(
    session: AsyncSession,
    scope: Scope,
    vector: np.ndarray,
    *,
    chunks: int,
    min_similarity: float,
) -> list[tuple[ChunkHit, datetime | None, str | None]]:
    """The ``chunks`` nearest chunks of the user's mail in ``scope`` with similarity of at least
    ``min_similarity``, nearest first, with their message's date and dedupe key."""
    await _tune(session, max(40, min(1000, chunks)))
    distance = MessageChunk.embedding.cosine_distance(vector).label("distance")
    nearest = (
        select(
            MessageChunk.message_id,
            MessageChunk.chunk_index,
            MessageChunk.text,
            distance,
            Message.date,
            Message.dedupe_key,
        )
        .join(Message, Message.id == MessageChunk.message_id)
        .where(MessageChunk.user_id == scope.user_id, *conditions(scope))
        .order_by(distance)
        .limit(chunks)
        .cte("nearest")
        .prefix_with("MATERIALIZED")
    )
    rows = await session.execute(
        select(nearest)
        .where(nearest.c.distance <= 1.0 - min_similarity)
        .order_by(nearest.c.distance)
    )
    return [
        (
            ChunkHit(r.message_id, r.chunk_index, r.text, 1.0 - float(r.distance)),
            r.date,
            r.dedupe_key,
        )
        for r in rows
    ]


def group_by_message(
    rows: list[tuple[ChunkHit, datetime | None, str | None]], *, limit: int
) -> list[SemanticHit]:
    """One hit per message, its best chunk first, in order of that chunk's similarity."""
    grouped: dict[uuid.UUID, list[ChunkHit]] = {}
    meta: dict[uuid.UUID, tuple[datetime | None, str | None]] = {}
    for chunk, date, dedupe_key in rows:
        grouped.setdefault(chunk.message_id, []).append(chunk)
        meta.setdefault(chunk.message_id, (date, dedupe_key))
    hits = [
        SemanticHit(
            message_id=message_id,
            score=found[0].similarity,
            date=meta[message_id][0],
            dedupe_key=meta[message_id][1],
            passage=found[0].text,
            chunks=tuple(found),
        )
        for message_id, found in grouped.items()
    ]
    hits.sort(key=lambda h: h.score, reverse=True)
    return hits[:limit]


async def search(
    session: AsyncSession,
    scope: Scope,
    vector: np.ndarray,
    *,
    limit: int,
    min_similarity: float,
) -> list[SemanticHit]:
    """The ``limit`` messages of ``scope`` nearest to ``vector``."""
    # A message has several chunks: ask for more chunks than messages wanted.
    rows = await nearest_chunks(
        session, scope, vector, chunks=min(1000, limit * 3), min_similarity=min_similarity
    )
    return group_by_message(rows, limit=limit)


async def message_vector(session: AsyncSession, message_id: uuid.UUID) -> np.ndarray | None:
    """The mean of a message's chunk embeddings (None when it has none yet)."""
    value: Any = await session.scalar(
        select(func.avg(MessageChunk.embedding, type_=Vector(EMBEDDING_DIMENSIONS))).where(
            MessageChunk.message_id == message_id
        )
    )
    if value is None:
        return None
    vector = np.asarray(value, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector
