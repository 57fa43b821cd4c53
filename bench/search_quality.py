"""Search quality: nDCG@10 and Recall@10 of keyword, semantic and hybrid search.

The labelled set is ``bench/search_quality/queries.json``: queries over the ham of the
SpamAssassin public corpus (4,150 messages, fetched by ``scripts/test-corpora.sh``) with their
relevant messages by file name. The corpus is ingested through ``ingest_batch`` into a temporary
embedded PostgreSQL (deleted at the end) unless ``--database-url`` names one, every message is
chunked and embedded with the local model as the pipeline's embed step does, and each query
runs through the search service in each mode (filters, ranking, fusion and duplicate collapsing
included; no rate limit, no cache).

    .venv/bin/python bench/search_quality.py [--database-url URL | --data-dir DIR]
                                             [--per-query] [--write]

``--data-dir`` keeps the embedded PostgreSQL in ``DIR`` instead of a temporary directory: the
first run loads and embeds the corpus there, later runs find it and only evaluate (the slow part
is the embedding). ``--write`` rewrites the "Search quality" section of bench/RESULTS.md.

Relevance is binary; nDCG@10 uses gain 1 per relevant message and the ideal ordering of
min(|relevant|, 10) hits; Recall@10 is |relevant ∩ top 10| / |relevant|.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from results import write_section  # bench/results.py (the script's own folder)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CORPUS = ROOT / ".cache" / "corpora" / "spam-assassin-0.2.3" / "data"
GROUPS = ("easy-ham-1", "easy-ham-2", "hard-ham-1")
QUERIES = ROOT / "bench" / "search_quality" / "queries.json"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Search quality"
BENCH_USER = "search-quality@example.org"
PASSWORD = "violet-harbour-lantern-42"  # noqa: S105 - the throwaway bench user
MODES = ("keyword", "semantic", "hybrid")
K = 10


def ndcg(ranked: list[str], relevant: set[str], k: int = K) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, m in enumerate(ranked[:k]) if m in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def recall(ranked: list[str], relevant: set[str], k: int = K) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def corpus_files() -> list[Path]:
    files = [p for g in GROUPS for p in sorted((CORPUS / g).glob("*.txt"))]
    if len(files) != 4150:
        raise SystemExit(f"expected 4,150 ham messages in {CORPUS}: run scripts/test-corpora.sh")
    return files


async def load_corpus(runtime: Any, user_id: uuid.UUID) -> None:
    """Ingest every ham message into the user's local account."""
    from mailmind.account.service import get_or_create_local_account
    from mailmind.mailbox.repository import get_or_create_folder
    from mailmind.message.ingest import IncomingMessage, ingest_batch

    files = corpus_files()
    started = time.perf_counter()
    for start in range(0, len(files), 200):
        batch = files[start : start + 200]
        async with runtime.db.session() as session:
            account = await get_or_create_local_account(session, user_id)
            folder = await get_or_create_folder(
                session, account, path="INBOX", name="INBOX", role="inbox"
            )
            await ingest_batch(
                session,
                runtime,
                account=account,
                folder=folder,
                items=[IncomingMessage(raw=p.read_bytes()) for p in batch],
                dedupe="message_id",
                notify=False,
            )
    print(f"ingested the corpus in {time.perf_counter() - started:.1f} s")


async def file_names(runtime: Any, user_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Message id -> corpus file name; of files sharing a Message-ID, the first one (the one
    ingest kept)."""
    from sqlalchemy import select

    from mailmind.message.parse import parse_message
    from mailmind.models import Message

    async with runtime.db.session() as session:
        rows = await session.execute(
            select(Message.id, Message.dedupe_key).where(Message.user_id == user_id)
        )
        by_key = {key: mid for mid, key in rows}
    names: dict[uuid.UUID, str] = {}
    for path in corpus_files():
        parsed = parse_message(path.read_bytes())
        key = (parsed.message_id or f"sha256:{parsed.raw_sha256}")[:128]
        if key in by_key:
            names[by_key.pop(key)] = path.name
    return names


async def embed_all(runtime: Any, user_id: uuid.UUID) -> None:
    """Chunk and embed every message as the pipeline's embed step does."""
    from sqlalchemy import insert, select

    from mailmind.integrations.ai.embeddings import chunk_text, get_embedder
    from mailmind.models import Message, MessageChunk

    embedder = get_embedder(runtime)
    started = time.perf_counter()
    async with runtime.db.session() as session:
        messages = (
            await session.execute(
                select(Message.id, Message.subject, Message.body_new_text).where(
                    Message.user_id == user_id
                )
            )
        ).all()
    total = 0
    for start in range(0, len(messages), 256):
        rows: list[dict[str, Any]] = []
        texts: list[str] = []
        for message_id, subject, body in messages[start : start + 256]:
            for i, chunk in enumerate(chunk_text(f"{subject.strip()}\n\n{body}".strip())):
                rows.append(
                    {"message_id": message_id, "user_id": user_id, "chunk_index": i, "text": chunk}
                )
                texts.append(chunk)
        vectors = await embedder.embed(texts)
        for row, vector in zip(rows, vectors, strict=True):
            row["embedding"] = vector
            row["model"] = embedder.model_name
        async with runtime.db.session() as session:
            await session.execute(insert(MessageChunk), rows)
        total += len(rows)
    print(
        f"embedded {total} chunks of {len(messages)} messages in "
        f"{time.perf_counter() - started:.1f} s"
    )


async def evaluate(
    runtime: Any, user_id: uuid.UUID, names: dict[uuid.UUID, str], per_query: bool
) -> dict[str, dict[str, float]]:
    from mailmind.search.filters import Scope
    from mailmind.search.query import parse_query
    from mailmind.search.service import retrieve

    labelled = json.loads(QUERIES.read_text())["queries"]
    scores: dict[str, dict[str, list[float]]] = {m: {"ndcg": [], "recall": []} for m in MODES}
    for item in labelled:
        relevant = set(item["relevant"])
        line = []
        for mode in MODES:
            query = parse_query(item["query"])
            query.open_ended = False  # a whole query, not one being typed
            async with runtime.db.session() as session:
                found = await retrieve(
                    session, runtime, query, Scope.of(user_id, query), mode=mode, depth=K
                )
            assert found.mode_used == mode, (mode, found.mode_used)
            ranked = [names.get(r.message_id, "?") for r in found.ranked]
            n, r = ndcg(ranked, relevant), recall(ranked, relevant)
            scores[mode]["ndcg"].append(n)
            scores[mode]["recall"].append(r)
            line.append(f"{mode[:3]} {n:.2f}/{r:.2f}")
        if per_query:
            print(f"  {' · '.join(line)}  {item['query']}")
    return {
        mode: {metric: statistics.fmean(values) for metric, values in metrics.items()}
        for mode, metrics in scores.items()
    }


async def bench_user(runtime: Any) -> tuple[uuid.UUID, bool]:
    """The bench user's id, and whether the corpus is already loaded and embedded."""
    from sqlalchemy import func, select

    from mailmind.auth.service import create_user
    from mailmind.models import Message, MessageChunk, User

    async with runtime.db.session() as session:
        user_id = await session.scalar(select(User.id).where(User.email == BENCH_USER))
        if user_id is None:
            user = await create_user(session, email=BENCH_USER, password=PASSWORD)
            return user.id, False
        messages = await session.scalar(
            select(func.count()).select_from(Message).where(Message.user_id == user_id)
        )
        embedded = await session.scalar(
            select(func.count(func.distinct(MessageChunk.message_id))).where(
                MessageChunk.user_id == user_id
            )
        )
    if messages and embedded == messages:
        return user_id, True
    raise SystemExit(
        f"{BENCH_USER} holds a partly loaded corpus ({messages} messages, {embedded} embedded):"
        " start from an empty database"
    )


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, dict[str, float]]:
    from mailmind.config import Settings
    from mailmind.jobs.queue import load_tasks
    from mailmind.migrate import upgrade
    from mailmind.runtime import Runtime

    embedded = None
    url = args.database_url
    if url is None:
        from mailmind.embedded import EmbeddedPostgres

        embedded = EmbeddedPostgres(workdir)
        url = embedded.start()
    try:
        upgrade(url)
        load_tasks()
        settings = Settings(DATABASE_URL=url, MAILMIND_DATA_DIR=str(workdir), LOG_LEVEL="WARNING")
        runtime = Runtime.create(settings, url)
        try:
            user_id, loaded = await bench_user(runtime)
            if loaded:
                print("corpus already loaded and embedded")
            else:
                await load_corpus(runtime, user_id)
                await embed_all(runtime, user_id)
            names = await file_names(runtime, user_id)
            results = await evaluate(runtime, user_id, names, args.per_query)
        finally:
            await runtime.close()
    finally:
        if embedded is not None:
            embedded.stop()
    count = len(json.loads(QUERIES.read_text())["queries"])
    print(f"\n{count} queries, {len(names)} messages")
    print(f"{'mode':<10}{'nDCG@10':>10}{'Recall@10':>12}")
    for mode in MODES:
        print(f"{mode:<10}{results[mode]['ndcg']:>10.3f}{results[mode]['recall']:>12.3f}")
    best_single = max(results["keyword"]["ndcg"], results["semantic"]["ndcg"])
    verdict = "beats" if results["hybrid"]["ndcg"] > best_single else "does NOT beat"
    print(f"hybrid {verdict} both single modes on nDCG@10")
    results["_meta"] = {"queries": float(count), "messages": float(len(names))}
    return results


def section(results: dict[str, dict[str, float]], label: str | None) -> str:
    from mailmind.search.hybrid import PARTIAL_KEYWORD_WEIGHT, RRF_K

    meta = results["_meta"]
    best_single = max(results["keyword"]["ndcg"], results["semantic"]["ndcg"])
    hybrid = results["hybrid"]["ndcg"]
    names = {
        "keyword": "keyword",
        "semantic": "semantic",
        "hybrid": (
            f"hybrid (RRF k = {RRF_K}, partial keyword matches × {PARTIAL_KEYWORD_WEIGHT:g})"
        ),
    }
    rows = "\n".join(
        f"| {names[m]} | {results[m]['ndcg']:.3f} | {results[m]['recall']:.3f} |" for m in MODES
    )
    verdict = (
        f"**met** (hybrid {hybrid:.3f} > best single mode {best_single:.3f})"
        if hybrid > best_single
        else f"**missed** (hybrid {hybrid:.3f} ≤ best single mode {best_single:.3f})"
    )
    text = (
        f"{SECTION}\n\n"
        f"`bench/search_quality.py`: {meta['queries']:.0f} labelled queries "
        "(`bench/search_quality/queries.json`, relevant messages named by corpus file) over the "
        f"{meta['messages']:,.0f} ham messages of the SpamAssassin corpus, each mode through the "
        "search service on an embedded PostgreSQL with the local embedder.\n\n"
        "| mode | nDCG@10 | Recall@10 |\n| --- | ---: | ---: |\n"
        f"{rows}\n\n"
        f"Target: hybrid beats both on nDCG@10 — {verdict}. "
        f"Measured {time.strftime('%Y-%m-%d', time.gmtime())}; the figures are deterministic.\n"
    )
    if label:
        text += f"\n{label}\n"
    return text


def write_results(text: str) -> None:
    """Replace the "## Search quality" section of RESULTS.md up to its next "## " heading or
    its "Speed" paragraph (written by bench/search.py), keeping everything else."""
    print(f"wrote {write_section(SECTION, text, stop='Speed')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", help="an existing database instead of a temporary one")
    where.add_argument(
        "--data-dir", type=Path, help="keep the embedded PostgreSQL here and reuse its corpus"
    )
    parser.add_argument("--per-query", action="store_true", help="print each query's scores")
    parser.add_argument(
        "--write", action="store_true", help="rewrite bench/RESULTS.md's search quality part"
    )
    parser.add_argument("--label", help="a note written under the results")
    args = parser.parse_args()
    if args.data_dir is not None:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        args.data_dir.chmod(0o755)
        results = asyncio.run(run(args, args.data_dir.resolve()))
    else:
        with tempfile.TemporaryDirectory(prefix="mailmind-search-quality-") as tmp:
            workdir = Path(tmp)
            workdir.chmod(0o755)
            results = asyncio.run(run(args, workdir))
    if args.write:
        write_results(section(results, args.label))


if __name__ == "__main__":
    main()
