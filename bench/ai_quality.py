"""Spam-vs-ham quality of MailMind's local classifier on the SpamAssassin public corpus.

Every message of ``.cache/corpora/spam-assassin-0.2.3/data/<group>/*.txt`` (fetched by
scripts/test-corpora.sh) goes through the same code as in the pipeline, without a database:
``parse_message``, the step's input (subject, sender, recipients, the kept headers, body text and
the new text without quotes), the ``embed`` step (passages of the local all-MiniLM-L6-v2, mean
vector) and ``classify_local``. A message counts as "spam" when the classifier says category
``spam``, as ham for any other category.

Five stratified folds (by group, fixed seed): for each test fold the user's corrections are the
four training folds (the corrected message and the category the user chose, spam or the ham's
non-spam category), from which the user's model is fitted as the pipeline fits it (``learn``), in
three variants:

* ``all``: every training message corrected (an upper bound of user effort), of which the
  pipeline loads the newest ``MAX_CORRECTIONS``;
* ``wrong``: only the training messages the classifier got wrong before any correction; the
  others were kept as classified, of which the pipeline loads the newest ``MAX_KEPT``;
* ``wrong, newest N``: as ``wrong`` but at most the N newest corrections
  (``MAX_CORRECTIONS``; the same as ``wrong`` when fewer messages were wrong).

The corpus has no usable arrival order (its dates are years apart and not read), so a seeded
random order of the messages stands for it: "newest" is the end of that order, as the pipeline's
repository takes the newest by the time a message was stored, and the share of spam in the
user's recent mail is estimated from it as the pipeline does (``recent_spam_share``).

The baseline is scikit-learn's TF-IDF + LinearSVC trained on the same training folds with the same
text (subject and new text). Neither side sees dates, file names or routing headers: the
parser's ``Received``/``Delivered-To``/``Return-Path``/``X-Spam-*`` are dropped before the
classifier sees the headers, the date is not passed, and the folder is INBOX for every message.

    .venv/bin/python bench/ai_quality.py [--limit 600] [--seed 7] [--write]

The vectors are cached by text under ``.cache/ai_quality/`` (``--embed-only`` fills the cache and
stops). The Markdown result goes to stdout and to bench/out/ai_quality.md; ``--write`` also
replaces the "AI quality" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from results import write_section  # bench/results.py (the script's own folder)

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from mailmind.ai.local.classifier import Example, UserModel  # noqa: E402
from mailmind.config import Settings  # noqa: E402
from mailmind.integrations.ai.embeddings import CHUNK_TOKENS, local_embedder  # noqa: E402
from mailmind.message.parse import parse_message  # noqa: E402
from mailmind.message.quotes import split_reply  # noqa: E402
from mailmind.pipeline.base import MessageInput, PipelineContext, UserContext  # noqa: E402
from mailmind.pipeline.steps.classify import (  # noqa: E402
    MAX_CORRECTIONS,
    MAX_KEPT,
    classify_local,
    learn,
    mail_features,
    recent_spam_share,
    seed_vectors,
)
from mailmind.pipeline.steps.embed import STEP as EMBED  # noqa: E402
from mailmind.pipeline.steps.embed import message_text  # noqa: E402

CORPUS = ROOT / ".cache" / "corpora" / "spam-assassin-0.2.3" / "data"
GROUPS = ("easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2")
OUT = ROOT / "bench" / "out" / "ai_quality.md"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## AI quality (spam vs ham, SpamAssassin)"
EMBEDDING_CACHE = ROOT / ".cache" / "ai_quality"
# Routing and filter headers say where a message went, not what it is.
DROPPED_HEADERS = ("received", "delivered-to", "return-path", "x-spam-")
FOLDS = 5
EMBED_BATCH = 64
TARGET_OVERALL = 98.7
TARGET_HARD = 88.8


def log(message: str) -> None:
    print(f"[ai_quality {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Sample:
    group: str
    spam: bool
    message: MessageInput

    @property
    def hard(self) -> bool:
        return self.group.startswith("hard-ham")


def corpus_files(limit: int | None, seed: int) -> list[tuple[str, Path]]:
    """Every message file by group; with ``limit`` a random subset in the groups' proportions
    (at least 10 per group so that the hard-ham figure exists)."""
    by_group = {g: sorted((CORPUS / g).glob("*.txt")) for g in GROUPS}
    total = sum(len(v) for v in by_group.values())
    if total == 0:
        sys.exit(f"no corpus under {CORPUS}: run scripts/test-corpora.sh")
    rng = random.Random(seed)
    chosen: list[tuple[str, Path]] = []
    for group, files in by_group.items():
        if limit is not None and limit < total:
            files = rng.sample(files, min(len(files), max(10, round(limit * len(files) / total))))
        chosen += [(group, f) for f in files]
    return chosen


def to_input(raw: bytes, user_id: uuid.UUID) -> MessageInput:
    """The step's input as context.load_messages builds it from the stored row, minus the date
    and the routing headers."""
    p = parse_message(raw)
    reply = split_reply(p.body_text)
    new_text = reply.new_text if reply.new_text.strip() else p.body_text
    headers = {k: v for k, v in p.headers.items() if not k.lower().startswith(DROPPED_HEADERS)}
    return MessageInput(
        id=uuid.uuid4(),
        user_id=user_id,
        account_id=user_id,
        thread_id=None,
        folder_role="inbox",
        subject=p.subject,
        sender_name=p.sender.name if p.sender else "",
        sender_address=(p.sender.address if p.sender else "").lower(),
        to=[{"name": a.name, "address": a.address} for a in p.to],
        cc=[{"name": a.name, "address": a.address} for a in p.cc],
        headers=headers,
        body_text=p.body_text,
        body_new_text=new_text,
        date=None,
        language="simple",
        has_attachments=bool(p.attachments),
        backfill=True,
    )


def stratified_folds(samples: list[Sample], seed: int) -> list[int]:
    """Fold number per sample, each group spread evenly over the folds."""
    rng = random.Random(seed)
    fold = [0] * len(samples)
    for group in GROUPS:
        members = [i for i, s in enumerate(samples) if s.group == group]
        rng.shuffle(members)
        for position, index in enumerate(members):
            fold[index] = position % FOLDS
    return fold


class Score:
    def __init__(self) -> None:
        self.right: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()

    def add(self, sample: Sample, predicted_spam: bool) -> None:
        keys = ["overall", sample.group.rsplit("-", 1)[0]]  # easy-ham, hard-ham, spam
        for key in keys:
            self.seen[key] += 1
            self.right[key] += int(predicted_spam == sample.spam)

    def pct(self, key: str) -> str:
        if not self.seen[key]:
            return "–"
        return f"{100 * self.right[key] / self.seen[key]:.1f} %"


def text_key(message: MessageInput) -> str:
    return hashlib.sha256(message_text(message).encode()).hexdigest()


def cache_path(model_name: str) -> Path:
    """One file per model and passage layout: a message's vector depends on both."""
    passages = Settings().ai_embed_passages
    return EMBEDDING_CACHE / f"{model_name}-{CHUNK_TOKENS}x{passages}.npz"


def load_embedding_cache(model_name: str) -> dict[str, np.ndarray]:
    """Vectors of earlier runs by the SHA-256 of the embedded text (NaN: nothing to embed)."""
    path = cache_path(model_name)
    if not path.exists():
        return {}
    with np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


def save_embedding_cache(model_name: str, cache: dict[str, np.ndarray]) -> None:
    EMBEDDING_CACHE.mkdir(parents=True, exist_ok=True)
    path = cache_path(model_name)
    partial = path.with_suffix(".part.npz")
    np.savez(partial, **cache)
    partial.replace(path)


async def embed_all(samples: list[Sample]) -> tuple[float, int]:
    """Run the embed step over every sample, reusing vectors cached by earlier runs (the step is
    deterministic for a given model and text); returns the seconds spent embedding and the
    number of messages embedded."""
    embedder = local_embedder()
    cache = load_embedding_cache(embedder.model_name)
    missing: list[Sample] = []
    for sample in samples:
        vector = cache.get(text_key(sample.message))
        if vector is None:
            missing.append(sample)
        else:
            sample.message.embedding = None if np.isnan(vector).any() else vector
    log(f"{len(samples) - len(missing)} vectors cached, {len(missing)} to embed")
    # In random order, so that an interrupted run leaves a cache that covers every group.
    random.Random(0).shuffle(missing)
    # The embed step reads only the settings of the runtime.
    runtime = SimpleNamespace(settings=Settings())
    ctx = PipelineContext(runtime=runtime, users={})  # type: ignore[arg-type]
    started = time.perf_counter()
    for start in range(0, len(missing), EMBED_BATCH):
        batch = [s.message for s in missing[start : start + EMBED_BATCH]]
        await EMBED.run(ctx, batch)
        ctx.chunks.clear()
        for message in batch:
            vector = message.embedding
            cache[text_key(message)] = (
                np.full(embedder.dimensions, np.nan, dtype=np.float32) if vector is None else vector
            )
        if (start // EMBED_BATCH) % 5 == 4 or start + EMBED_BATCH >= len(missing):
            save_embedding_cache(embedder.model_name, cache)
            log(f"embedded {min(start + EMBED_BATCH, len(missing))}/{len(missing)}")
    return time.perf_counter() - started, len(missing)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="a stratified subset of N")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--label", default="", help="a note printed under the results")
    parser.add_argument(
        "--write", action="store_true", help="rewrite the AI quality section of bench/RESULTS.md"
    )
    parser.add_argument(
        "--embed-only", action="store_true", help="embed (and cache) the messages, then stop"
    )
    args = parser.parse_args()

    user_id = uuid.uuid4()
    files = corpus_files(args.limit, args.seed)
    log(f"parsing {len(files)} messages")
    samples = [
        Sample(group, group.startswith("spam"), to_input(path.read_bytes(), user_id))
        for group, path in files
    ]

    embedder = local_embedder()
    await embedder.load()
    seeds = await seed_vectors(embedder)
    embed_s, embedded = await embed_all(samples)
    log(f"embedding done in {embed_s:.0f} s")
    if args.embed_only:
        return

    empty = UserContext(user_id=user_id)
    before_category = [classify_local(s.message, empty, seeds).category for s in samples]
    folds = stratified_folds(samples, args.seed)

    def example(i: int) -> Example:
        s = samples[i]
        # A ham the user takes out of spam goes to a real category; one that was not in spam
        # keeps the category the classifier gave it (the user only fixed spam-vs-ham).
        category = (
            "spam"
            if s.spam
            else (before_category[i] if before_category[i] != "spam" else "personal")
        )
        return Example(mail_features(s.message), category, s.message.subject)

    variants = ("all", "wrong", f"wrong, newest {MAX_CORRECTIONS}")
    before, after = Score(), {v: Score() for v in variants}
    baseline = Score()
    texts = [message_text(s.message) for s in samples]
    labels = np.array([s.spam for s in samples])
    # The order in which the messages arrived (see the module docstring): a higher rank is newer.
    arrival = list(range(len(samples)))
    random.Random(args.seed).shuffle(arrival)
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    fit_ms: list[float] = []
    classify_ms: list[float] = []
    for k in range(FOLDS):
        train = [i for i in range(len(samples)) if folds[i] != k]
        test = [i for i in range(len(samples)) if folds[i] == k]
        newest = sorted(train, key=lambda i: arrival[i], reverse=True)
        wrong = [i for i in newest if (before_category[i] == "spam") != samples[i].spam]
        chosen = {
            "all": newest,
            "wrong": wrong,
            variants[2]: wrong[:MAX_CORRECTIONS],
        }
        for variant, indices in chosen.items():
            # What the pipeline loads: the newest corrections and the newest messages the user
            # left alone, which confirm the category they were given.
            loaded = indices[:MAX_CORRECTIONS]
            corrected = set(indices)
            uncorrected = [i for i in newest if i not in corrected]
            left = uncorrected[:MAX_KEPT]
            kept = [
                Example(mail_features(samples[i].message), before_category[i], "") for i in left
            ]
            spam_share = recent_spam_share(
                [(example(i).category, arrival[i]) for i in loaded],
                [(before_category[i], arrival[i]) for i in left],
                corrected_complete=len(indices) < MAX_CORRECTIONS,
                kept_complete=len(uncorrected) < MAX_KEPT,
            )
            started = time.perf_counter()
            model: UserModel | None = learn(
                [example(i) for i in loaded], seeds, embedder.dimensions, kept, spam_share
            )
            fit_ms.append((time.perf_counter() - started) * 1000)
            for i in test:
                started = time.perf_counter()
                predicted = classify_local(samples[i].message, empty, seeds, model).category
                classify_ms.append((time.perf_counter() - started) * 1000)
                after[variant].add(samples[i], predicted == "spam")
        for i in test:
            before.add(samples[i], before_category[i] == "spam")
        vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=200_000)
        x_train = vectorizer.fit_transform([texts[i] for i in train])
        baseline_model = LinearSVC(C=1.0).fit(x_train, labels[train])
        predicted_all = baseline_model.predict(vectorizer.transform([texts[i] for i in test]))
        for i, predicted_spam in zip(test, predicted_all, strict=True):
            baseline.add(samples[i], bool(predicted_spam))
        log(f"fold {k + 1}/{FOLDS} done")

    embed_rate = (
        f"{embedded} messages embedded in this run, {embed_s:.0f} s, "
        f"{embedded / embed_s:.1f} messages/s (shared machine: noisy)"
        if embedded and embed_s > 0
        else "all vectors from the cache"
    )
    counts = Counter(s.group.rsplit("-", 1)[0] for s in samples)
    rows = [
        ("MailMind, before any correction", before),
        *((f"MailMind, corrections: {v}", after[v]) for v in variants),
        ("TF-IDF + LinearSVC (scikit-learn), same folds", baseline),
    ]
    lines = [
        "## AI quality (spam vs ham, SpamAssassin)",
        "",
        f"{len(samples)} messages ({counts['easy-ham']} easy ham, {counts['hard-ham']} hard ham, "
        f"{counts['spam']} spam"
        + (f"; stratified subset of the corpus, seed {args.seed}" if args.limit else "")
        + f"), {FOLDS} stratified folds: corrections from 4, tested on the 5th. "
        f"Targets: ≥ {TARGET_OVERALL} % overall and ≥ {TARGET_HARD} % on hard ham, and at least "
        "the TF-IDF + LinearSVC baseline of the same run.",
        "",
        "| classifier | overall | hard ham | easy ham | spam |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {name} | {s.pct('overall')} | {s.pct('hard-ham')} | {s.pct('easy-ham')} "
            f"| {s.pct('spam')} |"
            for name, s in rows
        ),
        "",
        "Per user model (learned from the corrections of one variant and fold): fit "
        f"{statistics.median(fit_ms):.0f} ms median, {max(fit_ms):.0f} ms at most; "
        f"classification of one message with it {statistics.median(classify_ms):.1f} ms median "
        "(the embedding excluded).",
        "",
        f"Embedding (embed step, local all-MiniLM-L6-v2, vectors cached by text under "
        f"`.cache/ai_quality/`): {embed_rate}.",
    ]
    if args.label:
        lines += ["", args.label]
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)
    if args.write:
        write_results(text)


def write_results(section: str) -> None:
    """Replace the AI quality section of RESULTS.md, keeping every other section."""
    written = write_section(SECTION, section)
    log(f"wrote {written.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
