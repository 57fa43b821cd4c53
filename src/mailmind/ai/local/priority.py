"""Local priority: a 0–100 score from features of the mail and of the user's mail history, with
the reasons that made it (the reason codes of PRODUCT_SPEC §7).

The score is :data:`BASE` plus the weights of the reasons that apply, clamped to 0–100, so the
reasons a user sees add up to the score. Weights:

==================== ======= ===============================================================
code                 weight  when
==================== ======= ===============================================================
vip_sender           +30     the sender's address or ``@domain`` is on the user's VIP list
known_correspondent  +10/15  the user wrote to the sender before (+15 from 5 mails) or answered
direct_recipient     +10     one of the user's addresses is in To (or in neither To nor Cc of a
                             personal mail: Bcc)
cc_only              −10     the user's addresses are only in Cc
question_asked       +10     the new text asks the reader something (en/de)
deadline_soon        +20/+10 a deadline (+20: "by Friday", "bis morgen", "EOD") or a date
                             (+10: "tomorrow") 0–3 days after the mail was written
urgent_wording       +15     urgent/dringend/asap/sofort/wichtig…, or Importance: high
active_thread        +10     the user wrote in the thread in the last 14 days
mailing_list         −10     List-Id / List-Unsubscribe / List-Post
bulk_sender          −15     Precedence: bulk/list/junk or marketing headers (Feedback-ID …)
automated_sender     −10     Auto-Submitted, auto-replies, noreply senders
user_override        Δ       the user set this sender's priority before: the score becomes that
                             value; the weight is the difference to the computed score
==================== ======= ===============================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from mailmind.ai.local.dates import find_dates
from mailmind.ai.local.text import Lang, questions
from mailmind.pipeline.base import MessageInput, UserContext

__all__ = ["BASE", "WEIGHTS", "Priority", "Reason", "band", "match_address", "score_priority"]

BASE = 30
DEADLINE_DAYS = 3
WEIGHTS: dict[str, int] = {
    "vip_sender": 30,
    "known_correspondent": 10,
    "known_correspondent_frequent": 15,
    "direct_recipient": 10,
    "cc_only": -10,
    "question_asked": 10,
    "deadline_soon": 20,
    "date_soon": 10,
    "urgent_wording": 15,
    "active_thread": 10,
    "mailing_list": -10,
    "bulk_sender": -15,
    "automated_sender": -10,
}
FREQUENT_CORRESPONDENT = 5

_TEXTS: dict[str, dict[Lang, str]] = {
    "vip_sender": {"en": "Sender is on your VIP list", "de": "Absender steht auf Ihrer VIP-Liste"},
    "known_correspondent": {
        "en": "You have written to this sender before",
        "de": "Sie haben diesem Absender schon geschrieben",
    },
    "known_correspondent_frequent": {
        "en": "You often write to this sender",
        "de": "Sie schreiben diesem Absender häufig",
    },
    "direct_recipient": {"en": "Sent directly to you", "de": "Direkt an Sie gesendet"},
    "cc_only": {"en": "You are only in Cc", "de": "Sie stehen nur in Cc"},
    "question_asked": {"en": "Asks you a question", "de": "Enthält eine Frage an Sie"},
    "deadline_soon": {"en": "Deadline on {date}", "de": "Frist am {date}"},
    "date_soon": {"en": "Mentions {date}", "de": "Nennt den {date}"},
    "urgent_wording": {"en": "Marked as urgent", "de": "Als dringend gekennzeichnet"},
    "active_thread": {
        "en": "Conversation you are active in",
        "de": "Unterhaltung, an der Sie aktiv teilnehmen",
    },
    "mailing_list": {"en": "Sent to a mailing list", "de": "An eine Mailingliste gesendet"},
    "bulk_sender": {"en": "Bulk or marketing mail", "de": "Massen- oder Werbemail"},
    "automated_sender": {"en": "Sent automatically", "de": "Automatisch versendet"},
    "user_override": {
        "en": "You set the priority of this sender to {value}",
        "de": "Sie haben die Priorität dieses Absenders auf {value} gesetzt",
    },
}

_URGENT = re.compile(
    r"\b(?:urgent(?:ly)?|asap|a\.s\.a\.p\.|immediately|right\s+away|time[- ]sensitive|"
    r"high\s+priority|critical|important|dringend|eilig|eilt|sofort|umgehend|unverzüglich|"
    r"schnellstmöglich|wichtig|hohe\s+priorität|zeitkritisch|so\s+schnell\s+wie\s+möglich)\b",
    re.I,
)
_NOREPLY = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|mailer-daemon|postmaster|"
    r"notifications?|notify|alerts?|bounces?|automated|system)(?:[-_.+].*)?@",
    re.I,
)
_MARKETING_HEADERS = ("feedback-id", "x-campaign", "x-mailchimp-id", "x-sg-eid", "x-mc-user")


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    text: str
    weight: int

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "weight": self.weight}


@dataclass(frozen=True, slots=True)
class Priority:
    score: int
    band: str
    reasons: list[Reason]

    def as_output(self) -> dict[str, Any]:
        """The ``priority`` feature's stored output."""
        return {
            "score": self.score,
            "band": self.band,
            "reasons": [r.as_dict() for r in self.reasons],
        }


def band(score: int) -> str:
    """§7 bands: high ≥70, medium 40–69, low <40."""
    return "high" if score >= 70 else "medium" if score >= 40 else "low"


def _text(code: str, language: Lang, **values: Any) -> str:
    return _TEXTS[code][language].format(**values)


def match_address(address: str, entries: set[str] | dict[str, int]) -> str | None:
    """The entry (``address`` or ``@domain``, any case) that ``address`` matches."""
    address = address.lower()
    domain = address.rpartition("@")[2]
    lowered = {e.lower(): e for e in entries}
    if address in lowered:
        return lowered[address]
    parts = domain.split(".")
    # "@example.com" covers "@mail.example.com" too.
    for i in range(len(parts) - 1):
        key = "@" + ".".join(parts[i:])
        if key in lowered:
            return lowered[key]
    return None


def _format_date(value: date, language: Lang) -> str:
    return value.strftime("%d.%m.%Y") if language == "de" else value.isoformat()


def _addresses(entries: list[dict[str, str]]) -> set[str]:
    return {(e.get("address") or "").lower() for e in entries} - {""}


def score_priority(
    message: MessageInput, user: UserContext, *, now: datetime | None = None
) -> Priority:
    """The priority of ``message`` for ``user``; reason texts in the user's UI language.
    ``now`` stands in for the mail's date when it has none."""
    language: Lang = "de" if user.language == "de" else "en"
    reasons: list[Reason] = []

    def add(code: str, variant: str | None = None, **values: Any) -> None:
        # ``variant`` picks another weight and text for the same code.
        key = variant or code
        reasons.append(Reason(code, _text(key, language, **values), WEIGHTS[key]))

    sender = message.sender_address.lower()
    header = message.header
    if sender and match_address(sender, user.vip):
        add("vip_sender")
    sent = user.sent_to.get(sender, 0) if sender else 0
    if sent or (sender and sender in {a.lower() for a in user.answered_senders}):
        frequent = sent >= FREQUENT_CORRESPONDENT
        add("known_correspondent", "known_correspondent_frequent" if frequent else None)

    own = {a.lower() for a in user.own_addresses}
    listed = bool(header("list-id") or header("list-unsubscribe") or header("list-post"))
    precedence = header("precedence").strip().lower()
    bulk = precedence in {"bulk", "junk", "list"} or any(header(h) for h in _MARKETING_HEADERS)
    auto_submitted = header("auto-submitted").strip().lower()
    automated = (
        (auto_submitted not in {"", "no"})
        or bool(header("x-autoreply") or header("x-auto-response-suppress"))
        or bool(_NOREPLY.match(sender))
    )
    in_to = bool(own & _addresses(message.to))
    in_cc = bool(own & _addresses(message.cc))
    if in_to:
        add("direct_recipient")
    elif in_cc:
        add("cc_only")
    elif not (listed or bulk or automated):
        # Neither in To nor in Cc of a personal mail: the user was a Bcc recipient.
        add("direct_recipient")

    text = message.body_new_text.strip() or message.body_text
    if questions(text):
        add("question_asked")

    written = message.date or now or datetime.now().astimezone()
    # A sale that "ends Friday" is not the user's deadline: list and bulk mail get no bonus for
    # dates or urgent words.
    personal = not (listed or bulk)
    soon = [
        d
        for d in find_dates(f"{message.subject}\n{text}", written)
        if timedelta(0) <= d.value - written.date() <= timedelta(days=DEADLINE_DAYS)
    ]
    deadline = next((d for d in soon if d.deadline), None)
    if personal and deadline is not None:
        add("deadline_soon", date=_format_date(deadline.value, language))
    elif personal and soon:
        add("deadline_soon", "date_soon", date=_format_date(soon[0].value, language))

    importance = f"{header('importance')} {header('priority')} {header('x-priority')}".lower()
    flagged = (
        "high" in importance
        or "urgent" in importance
        or bool(re.search(r"(?<!\d)[12](?!\d)", header("x-priority")))
    )
    if personal and (flagged or _URGENT.search(f"{message.subject}\n{text}")):
        add("urgent_wording")
    if message.thread_id is not None and message.thread_id in user.active_threads:
        add("active_thread")
    if listed:
        add("mailing_list")
    if bulk:
        add("bulk_sender")
    if automated:
        add("automated_sender")

    score = max(0, min(100, BASE + sum(r.weight for r in reasons)))
    override_key = match_address(sender, user.priority_overrides) if sender else None
    if override_key is not None:
        wanted = max(0, min(100, int(user.priority_overrides[override_key])))
        reasons.insert(
            0,
            Reason("user_override", _text("user_override", language, value=wanted), wanted - score),
        )
        score = wanted
    return Priority(score=score, band=band(score), reasons=reasons)
