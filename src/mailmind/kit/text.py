"""Text helpers: preview lines and the full-text language of a message."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-zäöüß]+")
_GERMAN = frozenset(
    [
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
        "sich",
        "auch",
        "noch",
        "wie",
        "bei",
        "oder",
        "aber",
        "wenn",
        "nur",
        "schon",
        "dass",
        "mir",
        "mich",
        "haben",
        "hat",
        "wird",
        "werden",
        "sind",
        "bitte",
        "danke",
        "gruß",
        "grüße",
        "viele",
        "freundlichen",
        "vielen",
    ]
)
_ENGLISH = frozenset(
    [
        "the",
        "and",
        "is",
        "are",
        "not",
        "you",
        "we",
        "it",
        "of",
        "to",
        "in",
        "for",
        "on",
        "with",
        "this",
        "that",
        "be",
        "have",
        "has",
        "will",
        "would",
        "can",
        "please",
        "thanks",
        "regards",
        "your",
        "from",
        "at",
        "by",
        "an",
        "as",
        "was",
        "were",
        "our",
        "they",
    ]
)
# PostgreSQL text search configurations by language tag prefix.
_CONFIGS = {"de": "german", "en": "english"}


def search_config(language_tag: str | None, text: str) -> str:
    """The PostgreSQL text search configuration for a message: from its Content-Language when it
    names German or English, else guessed from stop words, else ``simple`` (no stemming)."""
    if language_tag:
        config = _CONFIGS.get(language_tag.split("-")[0].lower())
        if config:
            return config
    words = _WORD.findall(text[:4000].lower())
    if len(words) < 5:
        return "simple"
    german = sum(w in _GERMAN for w in words)
    english = sum(w in _ENGLISH for w in words)
    if max(german, english) < max(2, len(words) // 50):
        return "simple"
    return "german" if german > english else "english"


def preview(text: str, limit: int = 200) -> str:
    """The first ``limit`` characters of ``text`` on one line."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
