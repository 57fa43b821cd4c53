"""Split a plain-text reply into what is new, what is quoted and the signature; normalise subjects
for threading.

The heuristics cover English and German mail clients: ``>`` quoting, attribution lines
("On … wrote:", "Am … schrieb …:"), Outlook's "-----Original Message-----" and
"From:/Sent:" (or "Von:/Gesendet:") header blocks, forwarded-message separators, RFC 3676 ``-- ``
signatures and the usual mobile signatures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ReplyParts", "normalize_subject", "split_reply"]


@dataclass(frozen=True, slots=True)
class ReplyParts:
    """A reply split in three. ``signature`` excludes the ``-- `` separator line."""

    new_text: str
    quoted_text: str
    signature: str


_I = re.IGNORECASE
# Attribution lines that always start the quoted part (possibly wrapped over up to 3 lines).
_ATTRIBUTION = (
    re.compile(r"^\s*On\b.{0,300}\bwrote\s*:\s*$", _I | re.S),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,300}:\s*$", _I | re.S),
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", _I | re.S),
    re.compile(r"^\s*El\b.{0,300}\bescribió\s*:\s*$", _I | re.S),
)
# "Ann <a@x> wrote:" / "Ann schrieb:" only count when quoted lines follow.
_LOOSE_ATTRIBUTION = re.compile(r"^.{1,200}\b(?:wrote|schrieb|a écrit)\s*:\s*$", _I)
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original(?:\s+Message)?|Ursprüngliche\s+Nachricht|Originalnachricht"
    r"|Forwarded\s+message|Weitergeleitete\s+Nachricht|Message\s+d'origine|Reply\s+message)"
    r"\s*-{2,}|Begin\s+forwarded\s+message\s*:|Anfang\s+der\s+weitergeleiteten\s+Nachricht\s*:)"
    r"\s*$",
    _I,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM = re.compile(r"^\s*\*?(?:From|Von|De)\s*:\*?\s*\S", _I)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(?:Sent|Gesendet|Date|Datum|Envoyé|To|An|Cc|Subject|Betreff|Objet|À)\s*:\*?", _I
)
_HEADER_SENT = re.compile(r"^\s*\*?(?:Sent|Gesendet|Date|Datum|Envoyé)\s*:", _I)
_SIG_DASH = re.compile(r"^-- ?$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:Sent\s+from\s+my\s+\S.{0,40}|Sent\s+from\s+(?:Outlook|Mail|Yahoo\s+Mail)\b.{0,40}"
    r"|Get\s+Outlook\s+for\s+\S.{0,30}|Von\s+meinem\s+\S.{0,40}\s+gesendet\.?"
    r"|Gesendet\s+von\s+meinem\s+\S.{0,40}|Gesendet\s+mit\s+der\s+\S.{0,40}"
    r"|Envoyé\s+de\s+mon\s+\S.{0,40})\s*$",
    _I,
)


def _quoted(line: str) -> bool:
    return line.lstrip(" ").startswith(">")


def _next_content(lines: list[str], start: int) -> str | None:
    for line in lines[start:]:
        if line.strip():
            return line
    return None


def _attribution_end(lines: list[str], i: int) -> int | None:
    """If an attribution starts at line i, the index of its last line."""
    for span in (1, 2, 3):
        if i + span > len(lines):
            break
        chunk = " ".join(line.strip() for line in lines[i : i + span])
        if span > 1 and not lines[i + span - 1].strip():
            break
        if any(p.match(chunk) for p in _ATTRIBUTION):
            return i + span - 1
    if _LOOSE_ATTRIBUTION.match(lines[i]):
        following = _next_content(lines, i + 1)
        if following is not None and _quoted(following):
            return i
    return None


def _header_block(lines: list[str], i: int) -> bool:
    """Outlook-style "From: … / Sent: … / To: … / Subject: …" block starting at line i."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    window = [line for line in lines[i + 1 : i + 6] if line.strip()][:4]
    others = [line for line in window if _HEADER_OTHER.match(line)]
    return any(_HEADER_SENT.match(line) for line in others) and len(others) >= 2


def _interleaved(lines: list[str], start: int) -> bool:
    """Whether unquoted answers follow quoted lines after ``start`` (inline replying)."""
    seen_quote = False
    for line in lines[start:]:
        if _quoted(line):
            seen_quote = True
        elif line.strip() and seen_quote:
            # A signature after the quote is bottom-posting, not an inline answer.
            return not (_SIG_DASH.match(line) or _MOBILE_SIGNATURE.match(line))
    return False


def split_reply(text: str) -> ReplyParts:
    """Split a plain-text message into the new part, the quoted part and the signature.

    Everything from the first attribution line, "Original Message" separator or Outlook
    header block on is quoted. Before it, ``>`` lines are quoted and the rest is new, so
    inline answers between quotes stay new. A ``-- `` line or a mobile signature in the new
    part starts the signature.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    soft: set[int] = set()
    i = 0
    while i < len(lines):
        line = lines[i]
        if _quoted(line) or not line.strip():
            i += 1
            continue
        end = _attribution_end(lines, i)
        if end is not None:
            if _interleaved(lines, end + 1):
                soft.update(range(i, end + 1))
                i = end + 1
                continue
            cut = i
            break
        if _SEPARATOR.match(line) or _header_block(lines, i):
            cut = i
            if i > 0 and _UNDERSCORES.match(lines[i - 1]):
                cut = i - 1
            break
        i += 1

    head, tail = lines[:cut], lines[cut:]
    signature: list[str] = []
    for j, line in enumerate(head):
        if _quoted(line):
            continue
        if _SIG_DASH.match(line):
            signature, head = head[j + 1 :], head[:j]
            break
        if _MOBILE_SIGNATURE.match(line):
            signature, head = head[j:], head[:j]
            break

    new_lines: list[str] = []
    quoted_lines: list[str] = []
    for j, line in enumerate(head):
        (quoted_lines if _quoted(line) or j in soft else new_lines).append(line)
    # Quoted lines caught in the signature region (bottom-posting) belong to the quote.
    quoted_lines.extend(line for line in signature if _quoted(line))
    signature = [line for line in signature if not _quoted(line)]
    quoted_lines.extend(tail)
    return ReplyParts(
        new_text=_tidy(new_lines),
        quoted_text=_tidy(quoted_lines),
        signature=_tidy(signature),
    )


def _tidy(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:"
    r"(?:re|aw|antw|fwd?|wg|sv|vs|tr|rif|odp|r[ée]f)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]"
    r"|\[[^\]]{0,100}\]"
    r")\s*",
    _I,
)


def normalize_subject(subject: str) -> str:
    """Subject for thread matching: reply/forward prefixes (Re:, AW:, Fwd:, WG:, Re[2]: …) and
    ``[list-tag]`` prefixes removed, whitespace folded, lowercased."""
    text = " ".join(subject.split())
    while True:
        stripped = _SUBJECT_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return " ".join(text.split()).lower()
