"""Local tag suggestions: the user's existing tags that fit a mail, and new tags from its key
phrases when the evidence is strong.

An existing tag fits when the words of its last path segment occur in the subject (0.9), in
the sender's domain (0.85), among the mail's recurring key phrases (0.8) or twice in the body
(0.65); one matching parent segment adds 0.05. When the mail's embedding and the tags'
embeddings are given, a cosine similarity of at least :data:`SIMILARITY_FLOOR` also counts
(mapped linearly to 0.6–0.9); a tag found both ways gets 0.05 more. A new tag is a key phrase of
two or three words that occurs in the subject and the body, or any key phrase that occurs at
least three times: at most :data:`MAX_NEW`, and only while fewer than :data:`MAX_TAGS` existing
tags fit. Nothing below :data:`MIN_CONFIDENCE` is suggested.

Key phrases are found the RAKE way (runs of content words between stop words and punctuation,
scored by word degree over frequency) with YAKE's position and casing cues, a few dozen lines
for English and German instead of a library: the libraries that do this pull in NLTK corpora or
graph packages for what is a small part of the work here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from mailmind.ai.local.text import STOPWORDS, WORD, content_words, split_sentences, stem

__all__ = [
    "MAX_TAGS",
    "MIN_CONFIDENCE",
    "TagSuggestion",
    "clean_segment",
    "key_phrases",
    "suggest_tags",
    "valid_path",
]

MAX_TAGS = 5
MAX_NEW = 2
MIN_CONFIDENCE = 0.6
MAX_DEPTH = 5
MAX_SEGMENT = 64
MAX_PATH = 255
# Measured with all-MiniLM-L6-v2: a mail and the name of its topic ("Finance/Invoices" for an
# invoice, "Travel/Flights" for a booking) meet at 0.33–0.52, unrelated names stay below 0.25.
SIMILARITY_FLOOR = 0.30
SIMILARITY_FULL = 0.60

# Words that occur in mail of every topic and so never make a tag on their own.
_GENERIC = frozenset(
    {
        stem(w)
        for w in str.split(
            """email e-mail mail message nachricht info information informationen update
        updates question questions frage fragen team today week day time zeit woche tag thing
        things sache dinge way best regards grüße anhang attachment attached file datei link
        click hier here note reply antwort request anfrage problem issue issues thanks dank
        bitte please call meeting termin number nummer year jahr month monat monday tuesday
        wednesday thursday friday saturday sunday montag dienstag mittwoch donnerstag freitag
        samstag sonntag morning afternoon evening morgen abend end ende next nächste good gut
        great new neu neue neuen kind hope hoffe wish lot lots unsubscribe abmelden view online
        browser privacy datenschutz"""
        )
    }
)
_INVALID_SEGMENT = re.compile(r"[/\x00-\x1f]")


@dataclass(frozen=True, slots=True)
class TagSuggestion:
    path: str
    confidence: float
    existing: bool
    # What matched: "subject", "sender_domain", "key_phrase", "body", "similar" (embedding) for
    # an existing tag, "new_phrase" for a new one.
    why: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "confidence": round(self.confidence, 3)}

    def reason(self) -> dict[str, Any]:
        return {"path": self.path, "existing": self.existing, "matched": self.why}


def clean_segment(text: str) -> str | None:
    """A tag path segment made from free text (no ``/``, no control characters, 1–64 chars)."""
    segment = " ".join(_INVALID_SEGMENT.sub(" ", text).split())[:MAX_SEGMENT].strip()
    return segment or None


def valid_path(path: str) -> bool:
    """§7: ``/``-separated, each segment 1–64 chars, depth ≤5, ≤255 chars in all."""
    segments = path.split("/")
    return (
        0 < len(path) <= MAX_PATH
        and len(segments) <= MAX_DEPTH
        and all(0 < len(s) <= MAX_SEGMENT and s == s.strip() for s in segments)
    )


@dataclass
class _Phrase:
    words: tuple[str, ...]  # lowercase
    surface: Counter[str]
    count: int = 0
    first: int = 0  # sentence index of the first occurrence
    in_subject: bool = False
    in_body: bool = False


def _runs(sentence: str) -> list[list[str]]:
    """Runs of adjacent content words: a stop word, a number or punctuation ends a run."""
    runs: list[list[str]] = []
    current: list[str] = []
    position = 0
    for match in WORD.finditer(sentence):
        gap = sentence[position : match.start()]
        word = match.group(0)
        low = word.lower()
        position = match.end()
        if gap.strip(" -") or low in STOPWORDS or len(low) < 3:
            if current:
                runs.append(current)
            current = []
            if low in STOPWORDS or len(low) < 3:
                continue
        current.append(word)
    if current:
        runs.append(current)
    # Longer runs are split into phrases of at most three words.
    return [run[i : i + 3] for run in runs for i in range(0, len(run), 3)]


def _collect(subject: str, body: str) -> dict[tuple[str, ...], _Phrase]:
    phrases: dict[tuple[str, ...], _Phrase] = {}
    sources = [(subject, True, 0)] + [
        (s, False, i + 1) for i, s in enumerate(split_sentences(body))
    ]
    for text, is_subject, index in sources:
        for run in _runs(text):
            key = tuple(stem(w) for w in run)
            phrase = phrases.get(key)
            if phrase is None:
                phrase = phrases[key] = _Phrase(words=key, surface=Counter(), first=index)
            phrase.surface[" ".join(run)] += 1
            phrase.count += 1
            phrase.in_subject |= is_subject
            phrase.in_body |= not is_subject
    return phrases


def _score(phrases: dict[tuple[str, ...], _Phrase]) -> dict[tuple[str, ...], float]:
    frequency: Counter[str] = Counter()
    degree: Counter[str] = Counter()
    for phrase in phrases.values():
        for word in phrase.words:
            frequency[word] += phrase.count
            degree[word] += phrase.count * len(phrase.words)
    scores = {}
    for key, phrase in phrases.items():
        rake = sum(degree[w] / frequency[w] for w in phrase.words)
        position = 1.0 / (1.0 + 0.2 * phrase.first)
        scores[key] = rake * (1 + 0.3 * (phrase.count - 1)) + 2.0 * phrase.in_subject + position
    return scores


def key_phrases(body: str, *, subject: str = "", limit: int = 10) -> list[tuple[str, float]]:
    """The ``limit`` best key phrases of a mail (1–3 words), with scores scaled to 0–1.
    Generic mail words ("meeting", "update", "Anhang") never stand alone as a phrase."""
    phrases = _collect(subject, body)
    scores = _score(phrases)
    ranked = sorted(
        (
            (phrases[k].surface.most_common(1)[0][0], s)
            for k, s in scores.items()
            if not all(w in _GENERIC for w in k)
        ),
        key=lambda item: (-item[1], item[0]),
    )[:limit]
    top = ranked[0][1] if ranked else 1.0
    return [(text, score / top) for text, score in ranked]


def _lexical(
    tag: str,
    subject_terms: set[str],
    phrase_terms: set[str],
    body_terms: Counter[str],
    domain_terms: set[str],
) -> tuple[float, str]:
    segments = tag.split("/")
    leaf = _leaf_terms(segments[-1])
    if not leaf:
        return 0.0, ""
    if all(t in subject_terms for t in leaf):
        score, why = 0.9, "subject"
    elif all(t in domain_terms for t in leaf):
        score, why = 0.85, "sender_domain"
    elif all(t in phrase_terms for t in leaf):
        score, why = 0.8, "key_phrase"
    elif all(body_terms[t] >= 2 for t in leaf):
        score, why = 0.65, "body"
    elif all(body_terms[t] >= 1 for t in leaf):
        score, why = 0.5, "body"
    else:
        return 0.0, ""
    for parent in segments[:-1]:
        terms = _terms(parent)
        if terms and all(t in subject_terms or body_terms[t] for t in terms):
            score += 0.05
            break
    return score, why


# Every message is compared with every tag of its user: the terms of tag names are computed
# once per process, not once per message.
@lru_cache(maxsize=8192)
def _terms(segment: str) -> tuple[str, ...]:
    return tuple(content_words(segment))


@lru_cache(maxsize=8192)
def _leaf_terms(segment: str) -> tuple[str, ...]:
    return _terms(segment) or tuple(stem(w) for w in WORD.findall(segment.lower()))


@lru_cache(maxsize=8192)
def _valid_path(path: str) -> bool:
    return valid_path(path)


def _semantic(similarity: float) -> float:
    if similarity < SIMILARITY_FLOOR:
        return 0.0
    share = min(1.0, (similarity - SIMILARITY_FLOOR) / (SIMILARITY_FULL - SIMILARITY_FLOOR))
    return 0.6 + 0.3 * share


def _new_tag(phrase: _Phrase) -> str | None:
    surface = phrase.surface.most_common(1)[0][0]
    segment = clean_segment(surface[:1].upper() + surface[1:])
    return segment if segment and len(segment) >= 3 else None


def suggest_tags(
    *,
    subject: str,
    body: str,
    existing_tags: list[str],
    sender_address: str = "",
    embedding: np.ndarray | None = None,
    tag_embeddings: dict[str, np.ndarray] | None = None,
    exclude: set[str] | None = None,
) -> list[TagSuggestion]:
    """At most five tags for a mail, best first, each with confidence ≥0.6; the user's existing
    tags first. ``embedding`` is the mail's vector and ``tag_embeddings`` the vectors of tag
    names (by path), compared by cosine similarity; ``exclude`` holds lowercased words never to
    make a new tag of (the names of the people in the mail)."""
    phrases = _collect(subject, body)
    scores = _score(phrases)
    ranked = sorted(scores, key=lambda k: (-scores[k], k))
    subject_terms = set(content_words(subject))
    body_terms = Counter(content_words(body))
    # Key phrases that recur: in a short mail every phrase ranks high, so rank alone says little.
    phrase_terms = {w for key in ranked[:8] if phrases[key].count >= 2 for w in key}
    domain = sender_address.lower().rpartition("@")[2]
    # "mail.acme-corp.co.uk" -> "acme", "corp": the labels left of the public suffix.
    domain_terms = {stem(p) for label in domain.split(".")[:-1] for p in re.split(r"[-_]", label)}
    domain_terms -= {"mail", "email", "www", "co", "com", "news", "newsletter", "info", "mailer"}

    unit: np.ndarray | None = None
    if embedding is not None and float(np.linalg.norm(embedding)) > 0:
        # The mail's vector is a mean of chunk vectors and so shorter than 1.
        unit = embedding / np.linalg.norm(embedding)

    found: dict[str, TagSuggestion] = {}
    for tag in existing_tags:
        if not _valid_path(tag):
            continue
        lexical, why = _lexical(tag, subject_terms, phrase_terms, body_terms, domain_terms)
        semantic = 0.0
        if unit is not None and tag_embeddings and tag in tag_embeddings:
            vector = tag_embeddings[tag]
            norm = float(np.linalg.norm(vector)) or 1.0
            semantic = _semantic(float(np.dot(unit, vector)) / norm)
        confidence = max(lexical, semantic)
        if semantic > lexical:
            why = "similar"
        if lexical >= 0.5 and semantic >= MIN_CONFIDENCE:
            confidence += 0.05
        confidence = min(confidence, 0.99)
        if confidence >= MIN_CONFIDENCE:
            key = tag.lower()
            if key not in found or found[key].confidence < confidence:
                found[key] = TagSuggestion(tag, round(confidence, 3), existing=True, why=why)

    # A parent adds nothing when its child fits: tag:Projects finds Projects/Apollo anyway.
    chosen = [
        s
        for s in found.values()
        if not any(o.path.lower().startswith(s.path.lower() + "/") for o in found.values())
    ]
    chosen.sort(key=lambda s: (-s.confidence, s.path.lower()))
    chosen = chosen[:MAX_TAGS]

    taken = {s.path.lower() for s in chosen}
    known = {t.lower() for t in existing_tags}
    existing_terms = {w for t in chosen for w in _terms(t.path.split("/")[-1])}
    blocked = {stem(w) for w in (exclude or set())}
    new: list[TagSuggestion] = []
    for words in ranked:
        if len(chosen) + len(new) >= MAX_TAGS or len(new) >= MAX_NEW:
            break
        phrase = phrases[words]
        if all(w in _GENERIC for w in words) or any(w in blocked for w in words):
            continue
        if set(words) & existing_terms:
            continue
        # One word in subject and body ("Lunch") is too weak; a phrase there is not.
        strong = phrase.in_subject and phrase.in_body and (len(words) > 1 or phrase.count >= 3)
        if not strong and phrase.count < 3:
            continue
        path = _new_tag(phrase)
        if path is None or path.lower() in taken or path.lower() in known:
            continue
        confidence = 0.6 + 0.1 * strong + min(0.1, 0.03 * (phrase.count - 1))
        taken.add(path.lower())
        new.append(TagSuggestion(path, round(confidence, 3), existing=False, why="new_phrase"))
    return chosen + new
