"""``embed``: split each message's subject and new text into passages, embed them, and give
every message the mean of its passage vectors (read by the classifier)."""

from __future__ import annotations

import numpy as np

from mailmind.integrations.ai.embeddings import chunk_text, get_embedder
from mailmind.pipeline.base import Chunk, MessageInput, PipelineContext, StepResult


def message_text(message: MessageInput) -> str:
    """What is embedded: the subject, then the text the sender wrote (quotes stripped)."""
    body = message.body_new_text.strip() or message.body_text.strip()
    return f"{message.subject.strip()}\n\n{body}".strip()


class EmbedStep:
    name = "embed"
    feature: str | None = None

    async def run(self, ctx: PipelineContext, batch: list[MessageInput]) -> list[StepResult]:
        embedder = get_embedder(ctx.runtime)
        model_dir = getattr(embedder, "model_dir", None)
        passages = ctx.runtime.settings.ai_embed_passages
        texts: list[str] = []
        owners: list[MessageInput] = []
        for message in batch:
            for passage in chunk_text(
                message_text(message), max_chunks=passages, model_dir=model_dir
            ):
                texts.append(passage)
                owners.append(message)
        vectors = await embedder.embed(texts)
        by_message: dict[object, list[int]] = {}
        for row, message in enumerate(owners):
            by_message.setdefault(message.id, []).append(row)
        for message in batch:
            rows = by_message.get(message.id, [])
            if not rows:
                message.embedding = None
                continue
            mean = vectors[rows].mean(axis=0)
            norm = float(np.linalg.norm(mean))
            message.embedding = (mean / norm if norm else mean).astype(np.float32)
            ctx.chunks[message.id] = [
                Chunk(
                    message_id=message.id,
                    user_id=message.user_id,
                    index=index,
                    text=texts[row],
                    embedding=vectors[row],
                    model=embedder.model_name,
                )
                for index, row in enumerate(rows)
            ]
        return []


STEP = EmbedStep()
