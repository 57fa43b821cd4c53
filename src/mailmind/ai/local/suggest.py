"""Local reply suggestions: up to three short replies from the intent of a mail, in its language
(English or German) and in one of the four tones.

Intents, first match wins: a meeting request (with the proposed time when there is one: accept
it, propose another, decline), a request to confirm (confirm, confirm with a note, not yet), a
question (answer with a placeholder, acknowledge and promise an answer, ask for details), thanks
(you're welcome), anything else (acknowledge). Placeholders are in square brackets for the user
to fill in. German ``formal`` and ``business`` replies use "Sie", ``informal`` "du", ``friendly``
mirrors the mail (it says "Sie" when the mail does). Nothing here sends anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypedDict

from mailmind.ai.local.dates import FoundDate, find_dates
from mailmind.ai.local.text import Lang, mail_language, questions, split_sentences

__all__ = [
    "TONES",
    "Intent",
    "MessageFields",
    "Suggestion",
    "Tone",
    "detect_intent",
    "suggest_replies",
]

Tone = Literal["formal", "informal", "friendly", "business"]
TONES: tuple[Tone, ...] = ("formal", "informal", "friendly", "business")
MAX_SUGGESTIONS = 3
_QUOTE_CHARS = 120


class MessageFields(TypedDict, total=False):
    """What a reply suggestion is made from; every key is optional."""

    subject: str
    body: str  # the mail's new text (quotes and signature stripped) or its whole text
    sender_name: str
    sender_address: str
    date: datetime | None
    language: str  # "en"/"de", a language tag or a text search configuration


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: str
    text: str
    tone: Tone
    language: Lang

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "tone": self.tone, "language": self.language}


@dataclass(frozen=True, slots=True)
class Intent:
    kind: Literal["meeting", "confirmation", "question", "thanks", "info"]
    question: str | None = None  # the first question asked
    proposed: FoundDate | None = None  # the time proposed for a meeting


_MEETING = re.compile(
    r"\b(?:meeting|meet(?:\s+up)?|call|catch[- ]up|appointment|sync|get\s+together|"
    r"video\s*call|zoom|termin|treffen|besprechung|telefonat|telefonieren|gespräch|"
    r"zusammensetzen|call|videokonferenz|jour\s+fixe|abstimmung)\b",
    re.I,
)
_AVAILABILITY = re.compile(
    r"\b(?:are\s+you\s+(?:available|free)|does\s+.{1,40}\s+work\s+for\s+you|would\s+.{1,40}\s+"
    r"suit\s+you|when\s+(?:are\s+you|would\s+you\s+be)\s+(?:available|free)|"
    r"hast\s+du\s+(?:.{1,30}\s+)?zeit|haben\s+sie\s+(?:.{1,30}\s+)?zeit|passt\s+(?:es\s+)?"
    r"(?:dir|ihnen|euch)|wann\s+(?:passt|hast\s+du|haben\s+sie))\b",
    re.I,
)
_CONFIRM = re.compile(
    r"\b(?:(?:please|can\s+you|could\s+you)\s+confirm|confirm\s+(?:that|whether|if)|"
    r"is\s+that\s+(?:ok|okay|fine|alright)|are\s+you\s+(?:ok|okay|fine)\s+with|"
    r"(?:bitte|kannst\s+du|können\s+sie|könnten\s+sie|könntest\s+du)\s+(?:\w+\s+){0,3}"
    r"bestätigen|bestätigen\s+sie|ist\s+das\s+(?:ok|okay|in\s+ordnung)|passt\s+das|"
    r"(?:bist\s+du|sind\s+sie)\s+einverstanden|einverstanden\s*\?)",
    re.I,
)
_THANKS = re.compile(r"\b(?:thank\s+you|thanks|many\s+thanks|vielen\s+dank|danke)\b", re.I)
_SIE = re.compile(r"(?<!^)(?<![.!?]\s)\b(?:Sie|Ihnen|Ihr|Ihre|Ihren|Ihrem)\b")
_WHEN_PREFIX = re.compile(r"^(?:on|at|am|um|this|coming|diesen|kommenden)\s+", re.I)


def detect_intent(subject: str, body: str, reference: date | datetime | None = None) -> Intent:
    """What the mail wants from its reader."""
    asked = questions(body)
    ref = reference or datetime.now().astimezone()
    # The body's sentences before the subject's, a proposal with a time before one without.
    meeting: list[str] = []
    proposals: list[FoundDate] = []
    for sentence in [*split_sentences(body), subject]:
        if sentence and (_MEETING.search(sentence) or _AVAILABILITY.search(sentence)):
            found = [d for d in find_dates(sentence, ref) if d.value >= _as_date(ref)]
            if found or _AVAILABILITY.search(sentence) or "?" in sentence:
                meeting.append(sentence)
                proposals.extend(found)
    if meeting:
        timed = [d for d in proposals if d.time is not None]
        proposed = (timed or proposals)[0] if proposals else None
        return Intent("meeting", asked[0] if asked else None, proposed)
    if _CONFIRM.search(body):
        return Intent("confirmation", asked[0] if asked else None)
    if asked:
        return Intent("question", asked[0])
    if _THANKS.search(body):
        return Intent("thanks")
    return Intent("info")


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _names(sender_name: str) -> tuple[str, str]:
    name = " ".join(sender_name.replace('"', "").split())
    if "," in name:  # "Weber, Lisa"
        last, _, first = name.partition(",")
        name = f"{first.strip()} {last.strip()}".strip()
    if "@" in name:
        name = ""
    return name, name.split(" ")[0] if name else ""


def _when(found: FoundDate) -> str:
    text = _WHEN_PREFIX.sub("", found.text.strip())
    return text[:1].upper() + text[1:]


def _short(question: str) -> str:
    text = " ".join(question.split())
    text = text[:1].upper() + text[1:]
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1].rstrip() + "…"


# Bodies by language and register ("sie" for formal German, "du" for informal; English has one
# register for formal/business and one for friendly/informal). {when} and {question} are filled in.
_BODIES: dict[str, dict[str, list[tuple[str, str]]]] = {
    "en-formal": {
        "meeting-time": [
            ("accept", "{when} works for me. I look forward to our meeting."),
            ("other-time", "{when} does not work for me, unfortunately. Would [another time] "
                           "suit you instead?"),
            ("decline", "Thank you for the invitation. Unfortunately, I am unable to attend."),
        ],
        "meeting": [
            ("propose", "I would be glad to meet. Would [day and time] suit you?"),
            ("ask-time", "I would be glad to meet. Which time would suit you best?"),
            ("decline", "Thank you for the invitation. Unfortunately, I am unable to attend."),
        ],
        "confirmation": [
            ("confirm", "I hereby confirm: that works for me."),
            ("confirm-note", "Confirmed, with one note: [note]"),
            ("not-yet", "I cannot confirm this yet and will get back to you by [date]."),
        ],
        "question": [
            ("answer", 'Regarding your question "{question}": [your answer]'),
            ("acknowledge", "Thank you for your question. I will look into it and get back to "
                            "you by [date]."),
            ("clarify", "Could you tell me a little more about [topic]?"),
        ],
        "thanks": [
            ("welcome", "You are very welcome, I am glad I could help."),
            ("anything-else", "My pleasure. Please let me know if you need anything else."),
        ],
        "info": [
            ("thanks", "Thank you for the information."),
            ("noted", "Thank you, duly noted. I will get back to you should I have any "
                      "questions."),
        ],
    },
    "en-informal": {
        "meeting-time": [
            ("accept", "{when} works for me, see you then!"),
            ("other-time", "{when} doesn't work for me, unfortunately. How about [another time]?"),
            ("decline", "Thanks for the invite, but I can't make it this time."),
        ],
        "meeting": [
            ("propose", "Sure, happy to! How about [day and time]?"),
            ("ask-time", "Sure, happy to! When suits you?"),
            ("decline", "Thanks for the invite, but I can't make it this time."),
        ],
        "confirmation": [
            ("confirm", "Confirmed, that works for me."),
            ("confirm-note", "Confirmed, just one thing: [note]"),
            ("not-yet", "I can't confirm yet, I'll get back to you by [date]."),
        ],
        "question": [
            ("answer", 'About your question "{question}": [your answer]'),
            ("acknowledge", "Good question! Let me check and I'll get back to you by [date]."),
            ("clarify", "Can you tell me a bit more about [topic]?"),
        ],
        "thanks": [
            ("welcome", "You're welcome, glad I could help!"),
            ("anything-else", "Anytime! Let me know if you need anything else."),
        ],
        "info": [
            ("thanks", "Thanks for letting me know!"),
            ("noted", "Thanks, noted. I'll get back to you if I have questions."),
        ],
    },
    "de-sie": {
        "meeting-time": [
            ("accept", "{when} passt mir gut. Ich freue mich auf unser Gespräch."),
            ("other-time", "{when} passt mir leider nicht. Wäre Ihnen [anderer Termin] recht?"),
            ("decline", "Vielen Dank für die Einladung. Leider kann ich nicht teilnehmen."),
        ],
        "meeting": [
            ("propose", "Sehr gerne. Würde Ihnen [Tag und Uhrzeit] passen?"),
            ("ask-time", "Sehr gerne. Wann passt es Ihnen am besten?"),
            ("decline", "Vielen Dank für die Einladung. Leider kann ich nicht teilnehmen."),
        ],
        "confirmation": [
            ("confirm", "Hiermit bestätige ich: Das passt so."),
            ("confirm-note", "Bestätigt, mit einem Hinweis: [Hinweis]"),
            ("not-yet", "Das kann ich leider noch nicht bestätigen; ich melde mich bis [Datum] "
                        "bei Ihnen."),
        ],
        "question": [
            ("answer", "Zu Ihrer Frage „{question}“: [Ihre Antwort]"),
            ("acknowledge", "Vielen Dank für Ihre Frage. Ich kümmere mich darum und melde mich "
                            "bis [Datum] bei Ihnen."),
            ("clarify", "Könnten Sie mir noch etwas mehr zu [Thema] sagen?"),
        ],
        "thanks": [
            ("welcome", "Sehr gern geschehen, es freut mich, dass ich helfen konnte."),
            ("anything-else", "Sehr gerne. Melden Sie sich, wenn Sie noch etwas brauchen."),
        ],
        "info": [
            ("thanks", "Vielen Dank für die Information."),
            ("noted", "Vielen Dank, ist notiert. Ich melde mich bei Ihnen, falls ich Fragen "
                      "habe."),
        ],
    },
    "de-du": {
        "meeting-time": [
            ("accept", "{when} passt mir gut, bis dann!"),
            ("other-time", "{when} passt mir leider nicht. Geht bei dir auch [anderer Termin]?"),
            ("decline", "Danke für die Einladung, aber diesmal kann ich leider nicht."),
        ],
        "meeting": [
            ("propose", "Gerne! Passt dir [Tag und Uhrzeit]?"),
            ("ask-time", "Gerne! Wann passt es dir am besten?"),
            ("decline", "Danke für die Einladung, aber diesmal kann ich leider nicht."),
        ],
        "confirmation": [
            ("confirm", "Passt, ich bestätige."),
            ("confirm-note", "Bestätigt, nur eine Sache: [Hinweis]"),
            ("not-yet", "Das kann ich noch nicht bestätigen, ich melde mich bis [Datum] bei dir."),
        ],
        "question": [
            ("answer", "Zu deiner Frage „{question}“: [deine Antwort]"),
            ("acknowledge", "Gute Frage! Ich schaue es mir an und melde mich bis [Datum] bei dir."),
            ("clarify", "Kannst du mir noch etwas mehr zu [Thema] sagen?"),
        ],
        "thanks": [
            ("welcome", "Gern geschehen, freut mich, dass ich helfen konnte!"),
            ("anything-else", "Immer gerne! Sag Bescheid, wenn du noch etwas brauchst."),
        ],
        "info": [
            ("thanks", "Danke für die Info!"),
            ("noted", "Danke, ist notiert. Ich melde mich, falls ich Fragen habe."),
        ],
    },
}  # fmt: skip

_GREETINGS: dict[tuple[Lang, Tone], tuple[str, str]] = {
    # (with a name, without one)
    ("en", "formal"): ("Dear {full},", "Dear Sir or Madam,"),
    ("en", "business"): ("Hello {full},", "Hello,"),
    ("en", "friendly"): ("Hi {first},", "Hi,"),
    ("en", "informal"): ("Hey {first},", "Hey,"),
    ("de", "formal"): ("Guten Tag {full},", "Sehr geehrte Damen und Herren,"),
    ("de", "business"): ("Hallo {full},", "Guten Tag,"),
    ("de", "friendly"): ("Hallo {first},", "Hallo,"),
    ("de", "informal"): ("Hi {first},", "Hi,"),
}
_CLOSINGS: dict[tuple[Lang, Tone], str] = {
    ("en", "formal"): "Kind regards",
    ("en", "business"): "Best regards",
    ("en", "friendly"): "Best wishes",
    ("en", "informal"): "Cheers",
    ("de", "formal"): "Mit freundlichen Grüßen",
    ("de", "business"): "Beste Grüße",
    ("de", "friendly"): "Liebe Grüße",
    ("de", "informal"): "Viele Grüße",
}


def _register(language: Lang, tone: Tone, body: str) -> str:
    if language == "en":
        return "en-formal" if tone in ("formal", "business") else "en-informal"
    if tone in ("formal", "business"):
        return "de-sie"
    if tone == "friendly" and _SIE.search(body):
        return "de-sie"
    return "de-du"


def suggest_replies(
    message: MessageFields, tone: Tone = "business", language: str | None = None
) -> list[Suggestion]:
    """At most three replies to ``message`` in ``tone``. ``language`` (``en``/``de``) overrides
    the mail's own language, which is otherwise taken from ``message["language"]`` or guessed."""
    subject = message.get("subject", "") or ""
    body = message.get("body", "") or ""
    written = message.get("date")
    lang = mail_language(
        language if language in ("en", "de") else message.get("language"), f"{subject}\n{body}"
    )
    intent = detect_intent(subject, body, written)
    full, first = _names(message.get("sender_name", "") or "")
    named, anonymous = _GREETINGS[(lang, tone)]
    greeting = named.format(full=full, first=first) if full else anonymous
    closing = _CLOSINGS[(lang, tone)]
    key: str = intent.kind
    if key == "meeting" and intent.proposed is not None:
        key = "meeting-time"
    templates = _BODIES[_register(lang, tone, body)][key]
    values = {
        "when": _when(intent.proposed) if intent.proposed else "",
        "question": _short(intent.question) if intent.question else "",
    }
    out = []
    for variant, template in templates[:MAX_SUGGESTIONS]:
        if "{question}" in template and not values["question"]:
            continue
        text = f"{greeting}\n\n{template.format(**values)}\n\n{closing}"
        out.append(Suggestion(f"{intent.kind}-{variant}", text, tone, lang))
    return out
