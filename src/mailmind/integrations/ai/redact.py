"""What of a mail may leave the server for a remote AI provider, with personal data masked.

Only the subject, the sender (name and domain) and the stripped body (quotes and signature
removed by the caller), cut to ``AI_REMOTE_MAX_CHARS``, are sent; never attachments. Before that,
e-mail addresses, phone numbers (international and German national formats), IBANs (ISO 13616
checksum verified) and payment card numbers (Luhn verified) become placeholders. Numbers whose
checksum fails are left alone: an order number is not an IBAN.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDERS = {"email": "[EMAIL]", "iban": "[IBAN]", "card": "[CARD]", "phone": "[PHONE]"}

_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.!#$%&'*+/=?^`{|}~-]+@(?:[\w-]+\.)+[A-Za-z]{2,63}(?![\w-])", re.UNICODE
)
# Country code, check digits, then 11–30 alphanumerics, optionally grouped by spaces or dashes.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")
# +49 30 1234567, +49 (0)30 123 456-7, 0049-171-1234567, +1 415.555.2671
_PHONE_INTL = re.compile(
    r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ .\-/]?\(0\))?(?:[ .\-/]?\(?\d{1,6}\)?){1,6}(?!\w)"
)
# 030 1234567, (030) 123 456 78, 0171/1234567, 089-12345-678
_PHONE_NATIONAL = re.compile(r"(?<![\w+])(?:\(0\d{2,5}\)|0\d{2,5})(?:[ \-/]?\d{2,8}){1,4}(?!\w)")


# IBAN lengths of the SEPA and other common registry countries (ISO 13616 registry): a
# candidate must have its country's length, which keeps a following word out of the match.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21,
    "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18,
    "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "XK": 20,
}  # fmt: skip


def iban_valid(candidate: str) -> bool:
    """ISO 13616: the country's length (15–34 for countries not listed) and the mod-97 check
    of the rearranged number equals 1."""
    compact = re.sub(r"[ -]", "", candidate).upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(char, 36)) for char in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of payment card numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@dataclass
class Redacted:
    """Masked text and how many items of each kind were replaced."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)


def _replace_ibans(text: str, counts: Counter[str]) -> str:
    out: list[str] = []
    position = 0
    for match in _IBAN.finditer(text):
        if match.start() < position:
            continue
        candidate = match.group()
        # The greedy match may run into a following word ("… 3000 AND"): try the longest prefix
        # that ends at a group boundary and passes the checksum.
        for end in range(len(candidate), 14, -1):
            if end < len(candidate) and candidate[end] not in " -":
                continue
            if iban_valid(candidate[:end]):
                out.append(text[position : match.start()])
                out.append(PLACEHOLDERS["iban"])
                counts["iban"] += 1
                position = match.start() + end
                break
    out.append(text[position:])
    return "".join(out)


def _sub(
    pattern: re.Pattern[str], kind: str, check: Callable[[str], bool], counts: Counter[str]
) -> Callable[[str], str]:
    def run(text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if not check(match.group()):
                return match.group()
            counts[kind] += 1
            return PLACEHOLDERS[kind]

        return pattern.sub(replace, text)

    return run


def redact(text: str) -> Redacted:
    """Replace e-mail addresses, IBANs, card numbers and phone numbers by placeholders."""
    counts: Counter[str] = Counter()
    text = _sub(_EMAIL, "email", lambda _: True, counts)(text)
    text = _replace_ibans(text, counts)
    text = _sub(
        _CARD, "card", lambda s: 13 <= len(_digits(s)) <= 19 and luhn_valid(_digits(s)), counts
    )(text)
    text = _sub(_PHONE_INTL, "phone", lambda s: 8 <= len(_digits(s)) <= 15, counts)(text)
    text = _sub(_PHONE_NATIONAL, "phone", lambda s: 7 <= len(_digits(s)) <= 13, counts)(text)
    return Redacted(text=text, counts=dict(counts))


def _sender(name: str, address: str) -> str:
    # The domain helps classification (newsletters, shops); the local part identifies a person.
    domain = address.rpartition("@")[2].lower() if "@" in address else ""
    name = redact(name).text.strip()
    if name and domain:
        return f"{name} ({domain})"
    return name or domain


@dataclass(frozen=True)
class MailText:
    """The parts of one mail that may be sent."""

    subject: str
    sender_name: str
    sender_address: str
    body: str  # already stripped of quotes and signature
    date: str | None = None


def mail_payload(
    mails: Sequence[MailText], *, max_chars: int, redact_pii: bool = True
) -> dict[str, Any]:
    """The JSON-ready content sent to a provider for one mail or a thread (oldest first).

    The bodies together hold at most ``max_chars`` characters; with several mails each gets an
    equal share. Returns ``{"messages": [{subject, sender, date?, body}], "truncated",
    "redacted": {kind: count}}``."""
    share = max(200, max_chars // max(1, len(mails)))
    counts: Counter[str] = Counter()
    truncated = False
    items: list[dict[str, Any]] = []
    for mail in mails:
        # Masking first, on a bounded slice, so that the cut cannot split a number and leave a
        # recognisable half of it behind.
        body = mail.body[: share * 4]
        subject = mail.subject
        if redact_pii:
            masked = redact(body)
            body = masked.text
            counts.update(masked.counts)
            masked_subject = redact(subject)
            subject = masked_subject.text
            counts.update(masked_subject.counts)
        if len(body) > share or len(mail.body) > share * 4:
            truncated = True
            body = body[:share]
        item: dict[str, Any] = {
            "subject": subject[:500],
            "sender": _sender(mail.sender_name, mail.sender_address)
            if redact_pii
            else f"{mail.sender_name} <{mail.sender_address}>".strip(),
            "body": body,
        }
        if mail.date:
            item["date"] = mail.date
        items.append(item)
    return {"messages": items, "truncated": truncated, "redacted": dict(counts)}
