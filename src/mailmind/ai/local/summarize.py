"""Local, extractive summaries and action items for English and German mail.

Sentences are taken from the new text of each mail (quotes and signatures are cut off first) and
scored by position in their mail, word overlap with the subject, how central their words are to
the whole text (TF-IDF-like: words that recur across sentences weigh more, rare ones less),
length (very short or very long sentences lose) and whether they ask, request or name a date.
The best are returned in their original order: ``short`` ≤3 sentences, ``detailed`` ≤200 words,
``bullets`` ≤5 sentences as a list. Extractive summaries are in the mail's own language.

Action items are the requests in the text ("please send …", "could you …", "bitte schicken …",
"kannst du …", "denk daran …"), each with the first date of its sentence as ``due_date`` and the
addressee when the sentence names one ("Tom, could you …").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from mailmind.ai.local.dates import find_dates
from mailmind.ai.local.text import Lang, content_words, mail_language, questions, split_sentences
from mailmind.message.quotes import split_reply

__all__ = [
    "MIN_AUTO_CHARS",
    "ActionItem",
    "Style",
    "Summary",
    "extract_action_items",
    "summarize",
    "summarize_messages",
]

Style = Literal["short", "detailed", "bullets"]
STYLES: tuple[Style, ...] = ("short", "detailed", "bullets")
# §2.5: summaries are computed ahead only for mails whose stripped body is longer than this.
MIN_AUTO_CHARS = 1000
SHORT_SENTENCES = 3
DETAILED_WORDS = 200
BULLETS = 5
MAIN_POINTS = 5
MAX_ITEM_CHARS = 300

_REQUEST = re.compile(
    r"\b(?:please|pls|kindly)\s+(?!find\b|see\b|note\b|ignore\b|disregard\b|do\s+not\s+hesitate"
    r"|don't\s+hesitate|feel\s+free|let\s+me\s+know\s+if)"
    r"|\b(?:could|can|would|will)\s+you\s+(?:please\s+)?(?!believe\b)"
    r"|\b(?:i|we)\s+(?:need|want|would\s+like)\s+you\s+to\b|\bmake\s+sure\b|"
    r"\b(?:don't|do\s+not)\s+forget\b|\bremember\s+to\b|\byou\s+(?:need|have|must)\s+to\b|"
    r"\baction\s+(?:item|required)\b|\bto\s*-?\s*do\s*:"
    r"|\bbitte\b(?!\s+(?:beachten\s+sie,?\s+dass|schön|sehr|zögern|melden\s+sie\s+sich\s+bei\s+fragen))"
    r"|\b(?:kannst|könntest|würdest)\s+du\b|\b(?:können|könnten|würden)\s+sie\b"
    r"|\b(?:könnt|würdet)\s+ihr\b|\bdenk(?:t|en\s+sie)?\s+(?:bitte\s+)?daran\b"
    r"|\bnicht\s+vergessen\b|\b(?:du\s+musst|ihr\s+müsst|sie\s+müssen|du\s+solltest)\b"
    r"|\bich\s+bräuchte\b|\bwir\s+bräuchten\b|\baufgabe\s*:",
    re.I,
)
# Requests that ask nothing of the reader: boilerplate of business mail and newsletters.
_BOILERPLATE = re.compile(
    r"\b(?:please\s+(?:find|see)\s+attached|if\s+you\s+have\s+any\s+(?:further\s+)?questions|"
    r"please\s+do\s+not\s+reply|do\s+not\s+reply\s+to\s+this|unsubscribe|abmelden|"
    r"bei\s+(?:weiteren\s+)?fragen|im\s+anhang\s+finden\s+sie|anbei\s+(?:finden|sende)|"
    r"bitte\s+antworten\s+sie\s+nicht|consider\s+the\s+environment|umwelt\s+zuliebe)\b",
    re.I,
)
# A sentence that only thanks carries nothing for a summary.
_THANKS_ONLY = re.compile(
    r"(?:many\s+thanks|thank\s+you|thanks|vielen\s+dank|danke)(?:\s+(?:a\s+lot|so\s+much|again|"
    r"schön|sehr))?",
    re.I,
)
_ADDRESSEE = re.compile(r"^@?(?P<name>[A-ZÄÖÜ][\w'’-]{1,30})(?:\s+[A-ZÄÖÜ][\w'’-]{1,30})?\s*[,:]\s")
_BULLET_MARK = re.compile(r"^(?:[-*•·–]\s+|\d{1,2}[.)]\s+)")


@dataclass(frozen=True, slots=True)
class ActionItem:
    text: str
    due_date: str | None = None  # ISO date
    owner: str | None = None
    done: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "due_date": self.due_date, "owner": self.owner, "done": False}


@dataclass(frozen=True, slots=True)
class Summary:
    summary: str
    main_points: list[str]
    action_items: list[ActionItem] = field(default_factory=list)
    style: Style = "short"
    language: Lang = "en"
    mode: str = "extractive"

    def as_output(self) -> dict[str, Any]:
        """The ``summary`` feature's stored output."""
        return {
            "summary": self.summary,
            "main_points": list(self.main_points),
            "action_items": [a.as_dict() for a in self.action_items],
            "style": self.style,
            "language": self.language,
            "mode": self.mode,
        }


@dataclass
class _Sentence:
    text: str
    message: int
    position: int
    terms: list[str]
    score: float = 0.0


def new_text(text: str) -> str:
    """What a mail says itself: quoted replies and the signature removed."""
    parts = split_reply(text)
    return parts.new_text if parts.new_text.strip() else text


def _clean(sentence: str) -> str:
    return _BULLET_MARK.sub("", sentence).strip()


def _sentences(texts: Sequence[str]) -> list[_Sentence]:
    out = []
    for index, text in enumerate(texts):
        for position, raw in enumerate(split_sentences(new_text(text))):
            sentence = _clean(raw)
            terms = content_words(sentence)
            if len(terms) < 2 or _THANKS_ONLY.fullmatch(sentence.rstrip(".!")):
                continue
            out.append(_Sentence(sentence, index, position, terms))
    return out


def _score(sentences: list[_Sentence], subject: str, reference: date | None, count: int) -> None:
    subject_terms = set(content_words(subject))
    documents = Counter(t for s in sentences for t in set(s.terms))
    frequency = Counter(t for s in sentences for t in s.terms)
    n = len(sentences)
    for s in sentences:
        unique = set(s.terms)
        position = 1.0 / (1.0 + 0.5 * s.position)
        overlap = len(unique & subject_terms) / len(subject_terms) if subject_terms else 0.0
        # Centrality: words that recur in the text, discounted when they are everywhere.
        central = sum(
            math.log1p(frequency[t]) * math.log1p(n / documents[t]) for t in unique
        ) / math.sqrt(len(s.terms))
        length = len(s.text.split())
        fit = 1.0 if 6 <= length <= 40 else 0.7 if length < 6 else 0.8
        signal = 0.0
        if "?" in s.text or _REQUEST.search(s.text):
            signal += 0.3
        if reference is not None and find_dates(s.text, reference):
            signal += 0.2
        recency = 0.1 * s.message / max(1, count - 1)
        s.score = (0.35 * position + 0.4 * overlap + 0.25 * central / 3.0 + signal + recency) * fit


def _pick(sentences: list[_Sentence], style: Style) -> list[_Sentence]:
    ranked = sorted(sentences, key=lambda s: (-s.score, s.message, s.position))
    if style == "short":
        chosen = ranked[:SHORT_SENTENCES]
    elif style == "bullets":
        chosen = ranked[:BULLETS]
    else:
        chosen, words = [], 0
        for s in ranked:
            size = len(s.text.split())
            if words + size > DETAILED_WORDS:
                if not chosen:
                    chosen.append(_truncate(s, DETAILED_WORDS))
                continue
            chosen.append(s)
            words += size
    return sorted(chosen, key=lambda s: (s.message, s.position))


def _truncate(sentence: _Sentence, limit: int) -> _Sentence:
    text = " ".join(sentence.text.split()[: limit - 1]) + " …"
    return _Sentence(text, sentence.message, sentence.position, sentence.terms, sentence.score)


def extract_action_items(
    text: str, *, reference: date | datetime | None = None
) -> list[ActionItem]:
    """The requests in a mail's new text, in order, with their due dates (ISO) and addressees."""
    items: list[ActionItem] = []
    seen: set[str] = set()
    asked = set(questions(text))
    for raw in split_sentences(new_text(text)):
        sentence = _clean(raw)
        if _BOILERPLATE.search(sentence):
            continue
        if not (_REQUEST.search(sentence) or (raw in asked and "?" not in raw)):
            continue
        if len(content_words(sentence)) < 2:
            continue
        key = sentence.lower()
        if key in seen:
            continue
        seen.add(key)
        due = None
        if reference is not None:
            dates = find_dates(sentence, reference)
            due = dates[0].value.isoformat() if dates else None
        addressee = _ADDRESSEE.match(sentence)
        owner = addressee.group("name") if addressee else None
        if owner and owner.lower() in {"please", "bitte", "also", "also,", "so", "ok", "okay"}:
            owner = None
        text_out = sentence if len(sentence) <= MAX_ITEM_CHARS else sentence[:MAX_ITEM_CHARS] + "…"
        items.append(ActionItem(text=text_out, due_date=due, owner=owner))
    return items


def summarize_messages(
    texts: Sequence[str],
    style: Style = "short",
    language: str | None = None,
    *,
    subject: str = "",
    reference: date | datetime | None = None,
) -> Summary:
    """An extractive summary of one mail or a thread (``texts`` oldest first; their quoted parts
    and signatures are skipped). ``language`` is a hint (``en``/``de`` or a text search
    configuration); the summary keeps the mails' own words and so their language. ``reference``
    (when the last mail was written) resolves relative due dates of action items."""
    joined = "\n\n".join(texts)
    lang = mail_language(language, joined)
    sentences = _sentences(texts)
    ref = reference.date() if isinstance(reference, datetime) else reference
    _score(sentences, subject, ref, len(texts))
    picked = _pick(sentences, style)
    if style == "bullets":
        body = "\n".join(f"• {s.text}" for s in picked)
    else:
        body = " ".join(s.text for s in picked)
    ranked = sorted(sentences, key=lambda s: (-s.score, s.message, s.position))[:MAIN_POINTS]
    points = [s.text for s in sorted(ranked, key=lambda s: (s.message, s.position))]
    items: list[ActionItem] = []
    seen: set[str] = set()
    for text in texts:
        for item in extract_action_items(text, reference=reference):
            if item.text.lower() not in seen:
                seen.add(item.text.lower())
                items.append(item)
    return Summary(summary=body, main_points=points, action_items=items, style=style, language=lang)


def summarize(
    text: str,
    style: Style = "short",
    language: str | None = None,
    *,
    subject: str = "",
    reference: date | datetime | None = None,
) -> Summary:
    """:func:`summarize_messages` for one mail."""
    return summarize_messages([text], style, language, subject=subject, reference=reference)
