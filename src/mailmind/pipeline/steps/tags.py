"""Step "tags": up to five tag suggestions, the user's existing tags first (PRODUCT_SPEC §2.5).

When the "embed" step has set the mail's vector, the user's tag names are embedded too (with the
same local model, cached per process) so that a tag can fit by meaning as well as by words.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mailmind.ai.local.tags import suggest_tags
from mailmind.integrations.ai.embeddings import get_embedder
from mailmind.pipeline.base import MessageInput, PipelineContext, StepResult, input_hash

MODEL = "mailmind-tags-v1"
PROMPT_VERSION = "tags-keyphrase-1"
MAX_CHARS = 20_000
# Tag name vectors by (embedding model, path); bounded so a long-running worker stays small.
_CACHE_LIMIT = 20_000
_tag_vectors: dict[tuple[str, str], np.ndarray] = {}


def tag_text(path: str) -> str:
    """What a tag's vector is made from: its segments, most specific first."""
    return ", ".join(reversed([s.strip() for s in path.split("/") if s.strip()]))


async def tag_embeddings(runtime: Any, paths: list[str]) -> tuple[str, dict[str, np.ndarray]]:
    """The model name and the unit vectors of ``paths`` (cached)."""
    embedder = get_embedder(runtime)
    model = embedder.model_name
    missing = sorted({p for p in paths if (model, p) not in _tag_vectors})
    if missing:
        vectors = await embedder.embed([tag_text(p) for p in missing])
        if len(_tag_vectors) + len(missing) > _CACHE_LIMIT:
            _tag_vectors.clear()
        for path, vector in zip(missing, vectors, strict=True):
            _tag_vectors[(model, path)] = vector
    return model, {p: _tag_vectors[(model, p)] for p in paths if (model, p) in _tag_vectors}


def _people(message: MessageInput) -> set[str]:
    names = [message.sender_name, *(e.get("name", "") for e in [*message.to, *message.cc])]
    return {w.lower() for name in names for w in name.replace(",", " ").split() if len(w) > 1}


class TagsStep:
    name = "tags"
    feature: str | None = "tags"

    async def run(self, ctx: PipelineContext, batch: list[MessageInput]) -> list[StepResult]:
        results = []
        for message in batch:
            started = time.perf_counter()
            user = ctx.user(message)
            existing = sorted(set(user.existing_tags))
            vectors: dict[str, np.ndarray] = {}
            model = None
            if message.embedding is not None and existing:
                model, vectors = await tag_embeddings(ctx.runtime, existing)
            body = (message.body_new_text.strip() or message.body_text)[:MAX_CHARS]
            suggestions = suggest_tags(
                subject=message.subject,
                body=body,
                existing_tags=existing,
                sender_address=message.sender_address,
                embedding=message.embedding,
                tag_embeddings=vectors,
                exclude=_people(message),
            )
            embedding = message.embedding
            payload = {
                "subject": message.subject,
                "body": body,
                "sender": message.sender_address.lower(),
                "people": sorted(_people(message)),
                "existing_tags": existing,
                "embedding_model": model,
                "embedding": embedding.round(6).tolist() if embedding is not None else None,
            }
            results.append(
                StepResult(
                    message_id=message.id,
                    feature="tags",
                    output={"tags": [s.as_dict() for s in suggestions]},
                    confidence=max((s.confidence for s in suggestions), default=None),
                    reasons=[s.reason() for s in suggestions],
                    provider="local",
                    model=MODEL,
                    prompt_version=PROMPT_VERSION,
                    input_hash=input_hash(payload),
                    latency_ms=int((time.perf_counter() - started) * 1000),
                )
            )
        return results


STEP = TagsStep()
