"""The local embedding model: shape, normalisation, integrity check and chunking."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mailmind.integrations.ai.embeddings import (
    DIMENSIONS,
    MODEL_SHA256,
    Embedder,
    LocalEmbedder,
    ModelIntegrityError,
    chunk_text,
    file_sha256,
    local_embedder,
    package_model_dir,
)


async def test_embeddings_are_384_dimensional_unit_vectors() -> None:
    embedder = local_embedder()
    assert isinstance(embedder, Embedder)
    vectors = await embedder.embed(
        [
            "Please send the signed contract by Friday.",
            "Could you return the signed agreement before the weekend?",
            "Fresh tomatoes and basil for the pasta tonight.",
        ]
    )
    assert vectors.shape == (3, DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Meaning, not words: the two requests are closer to each other than to the recipe.
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert (await embedder.embed([])).shape == (0, DIMENSIONS)


async def test_a_query_runs_on_one_thread_and_a_batch_on_all() -> None:
    import asyncio

    import torch

    from mailmind.integrations.ai import embeddings

    embedder = local_embedder()

    async def threads_after(texts: list[str]) -> int:
        await embedder.embed(texts)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(embedder._executor, torch.get_num_threads)

    assert await threads_after(["why is my laptop slow"]) == 1
    batch = [f"passage {n}" for n in range(embeddings.SMALL_CALL + 1)]
    assert await threads_after(batch) == embeddings._torch_threads()
    assert await threads_after(["and back to one"]) == 1


def test_the_packaged_model_has_the_pinned_sha256() -> None:
    assert file_sha256(package_model_dir() / "model.safetensors") == MODEL_SHA256


async def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(package_model_dir(), copy)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))

    embedder = LocalEmbedder(model_dir=copy)
    with pytest.raises(ModelIntegrityError, match="sha256") as caught:
        await embedder.embed(["hello"])
    assert MODEL_SHA256 in str(caught.value) and str(weights) in str(caught.value)


async def test_an_intact_copy_loads(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(package_model_dir(), copy)
    embedder = LocalEmbedder(model_dir=copy)
    vectors = await embedder.embed(["hello"])
    assert vectors.shape == (1, DIMENSIONS)
    assert embedder.load_stats is not None and embedder.load_stats.model_dir == copy


def test_long_text_is_chunked_in_overlapping_windows() -> None:
    words = [f"word{n}" for n in range(2000)]
    text = " ".join(words)
    chunks = chunk_text(text, window=100, overlap=20, max_chunks=4)
    assert len(chunks) == 4
    assert all(c in text for c in chunks)
    assert chunks[0].startswith("word0")
    # Consecutive chunks share their border.
    assert chunks[0].split()[-1] in chunks[1]


def test_short_and_empty_text() -> None:
    assert chunk_text("Lunch on Friday?") == ["Lunch on Friday?"]
    assert chunk_text("   ") == []
