"""Text helpers shared by the local AI functions: language, sentences, words and questions.

English and German only: the local models are rule-based and their word lists cover those two.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from mailmind.kit.text import search_config

Lang = Literal["en", "de"]

_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.I)
WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS_EN = _wordset(
    """a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further get got had hadn't has hasn't have
    haven't having he her here hers herself him himself his how i if in into is isn't it it's its
    itself just let let's me more most much must my myself no nor not now of off on once only or
    other ought our ours ourselves out over own please re same she should shouldn't so some such
    than thank thanks that that's the their theirs them themselves then there there's these they
    this those through to too under until up very via was wasn't we we'll we're we've were weren't
    what when where which while who whom why will with won't would wouldn't yes yet you you'll
    you're you've your yours yourself yourselves hi hello dear regards best kind cheers may might
    shall also just like well one two three new per etc within without"""
)
STOPWORDS_DE = _wordset(
    """aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
    anderes auch auf aus bei beim bin bis bist bitte da damit dann das dass dein deine deinem
    deinen deiner dem den denn der des dessen dich die dies diese diesem diesen dieser dieses dir
    doch dort du durch ein eine einem einen einer eines er es etwas euch euer eure für gegen habe
    haben hat hatte hätte hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer im in indem
    ins ist ja jede jedem jeden jeder jedes jetzt kann kannst kein keine keinem keinen keiner man
    mein meine meinem meinen meiner mich mir mit muss musst nach nicht nichts noch nun nur ob oder
    ohne sehr sein seine seinem seinen seiner seit sich sie sind so solche soll sollte sondern
    sonst über um und uns unser unsere unter vom von vor war waren warum was weil weiter welche
    wenn wer werde werden wie wieder will wir wird wirst wo wollen würde würden zu zum zur zwar
    zwischen hallo liebe lieber grüße gruß danke dank viele vielen freundlichen herr frau sehr
    geehrte geehrter gerne schon mal einfach heute morgen"""
)
STOPWORDS = STOPWORDS_EN | STOPWORDS_DE
_ONLY_DE = STOPWORDS_DE - STOPWORDS_EN
_ONLY_EN = STOPWORDS_EN - STOPWORDS_DE


def mail_language(hint: str | None, text: str, default: str = "en") -> Lang:
    """``en`` or ``de`` for a mail: from a language hint (a PostgreSQL text search configuration
    such as ``german``, or a tag such as ``de-AT``), else guessed from stop words, else
    ``default``."""
    tag = (hint or "").strip().lower()
    if tag in {"german", "de"} or tag.startswith("de-"):
        return "de"
    if tag in {"english", "en"} or tag.startswith("en-"):
        return "en"
    guessed = search_config(None, text)
    if guessed == "german":
        return "de"
    if guessed == "english":
        return "en"
    # Short texts: the longer stop word lists and German letters decide.
    found = words(text[:4000])
    german = sum(w in _ONLY_DE for w in found) + sum(ch in "äöüß" for ch in text[:4000].lower())
    english = sum(w in _ONLY_EN for w in found)
    if german != english:
        return "de" if german > english else "en"
    return "de" if default == "de" else "en"


def words(text: str) -> list[str]:
    """The lowercased words of ``text`` (URLs and addresses left out)."""
    return [w.lower() for w in WORD.findall(_URL.sub(" ", text))]


def content_words(text: str) -> list[str]:
    """:func:`words` without stop words and one-letter words, lightly stemmed."""
    return [stem(w) for w in words(text) if len(w) > 1 and w not in STOPWORDS]


def stem(word: str) -> str:
    """A light, language-agnostic stem so that "invoices"/"invoice" and "Rechnungen"/"Rechnung"
    meet; aggressive stemming would merge unrelated tag names."""
    w = word.lower().replace("’", "'")
    for suffix in ("ies", "en", "es", "s", "n", "e"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            base = w[: -len(suffix)]
            return base + "y" if suffix == "ies" else base
    return w


# --- sentences --------------------------------------------------------------------------------

# Abbreviations whose dot never ends a sentence (lowercase, without the final dot).
_ABBREVIATIONS = _wordset(
    """dr mr mrs ms prof vs approx inc ltd co corp jr sr st no nr ca bzw evtl ggf inkl vgl bzgl
    sog tel hr fr str abs dipl ing geb zzgl min max ref fig jan feb mar apr jun jul aug sep sept
    oct okt nov dec dez mio mrd mon tue wed thu fri ff bspw allg gem
    lt lfd u.a z.b d.h e.g i.e a.m p.m u.u o.ä i.d.r z.t i.a m.e s.o s.u v.a u.s.w z.hd
    etc usw"""
)
# Abbreviations that often end a sentence too: split after them when a capital follows.
_SOFT_ABBREVIATIONS = frozenset({"etc", "usw", "u.s.w", "u.a", "inc", "ltd", "co", "corp"})
# Multi-part abbreviations written with spaces ("z. B.", "d. h.", "u. a."): glued before splitting.
_SPACED = re.compile(
    r"\b(z|d|u|o|i|e|s|v|m)\.\s(B|h|a|U|ä|d\.\s?R|T|A|E|o|u|g|e|a)\.",
)
_BOUNDARY = re.compile(r"([.!?…]+)([\"'»«“”‘’)\]]*)\s+")
_BULLET = re.compile(r"^(?:[-*•·–]\s+|\d{1,2}[.)]\s+|[a-z][.)]\s+)")
GREETING = re.compile(
    r"^(?:hi|hey|hello|dear|good\s+(?:morning|afternoon|evening)|hallo|hi\s+zusammen|liebe[rs]?|"
    r"sehr\s+geehrte[rs]?|guten\s+(?:tag|morgen|abend)|servus|moin|grüß\s+gott|grüezi)\b"
    r"[^.!?\n]{0,60}[,!:]?\s*$",
    re.I,
)
# A closing line ends the text worth reading; what follows is the name or the signature.
CLOSING = re.compile(
    r"^(?:(?:(?:best|kind|warm|many)\s+(?:regards|wishes)|regards|sincerely|yours\s+(?:truly|"
    r"sincerely)|all\s+the\s+best|(?:mit\s+)?(?:freundlichen|besten|herzlichen|lieben|vielen|"
    r"viele|liebe|beste|schöne|sonnige)\s+grüßen?|mit\s+freundlichem\s+gruß|mfg|lg|vg|gruß|"
    r"grüße)\b[^.?!\n]{0,40}|(?:thanks|thank\s+you|thx|best|cheers|danke|vielen\s+dank|"
    r"bis\s+(?:bald|dann|später))(?:\s+(?:in\s+advance|again|im\s+voraus|schon\s+mal|"
    r"und\s+grüße|and\s+regards))?)\s*[,.!]?\s*$",
    re.I,
)


_GLUE = "\ue000"  # a private-use character standing in for the space inside "z. B."


def _glue_spaced(text: str) -> str:
    return _SPACED.sub(lambda m: m.group(0).replace(" ", _GLUE), text)


def _segments(text: str) -> Iterator[str]:
    """Paragraph pieces of a plain-text mail: soft-wrapped lines joined, bullets, greetings and
    closings kept apart; nothing after the closing line (the sender's name and signature)."""
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        current: list[str] = []
        for raw_line in block.split("\n"):
            line = raw_line.strip()
            if not line:
                continue
            if CLOSING.match(line):
                if current:
                    yield " ".join(current)
                return
            if GREETING.match(line):
                if current:
                    yield " ".join(current)
                    current = []
                continue
            if _BULLET.match(line) and current:
                yield " ".join(current)
                current = []
            current.append(line)
        if current:
            yield " ".join(current)


def _split_segment(segment: str) -> list[str]:
    glued = _glue_spaced(segment)
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(glued):
        end = match.end()
        rest = glued[end:]
        if not rest:
            break
        punctuation = match.group(1)
        before = glued[start : match.start()].rsplit(None, 1)
        last = before[-1].lower().replace(_GLUE, "") if before else ""
        if rest[0].islower():
            continue
        if punctuation == ".":
            token = last.rstrip(".")
            if token in _ABBREVIATIONS and not (token in _SOFT_ABBREVIATIONS and rest[0].isupper()):
                continue
            # Initials ("J. Smith") and ordinals ("am 3. Dezember", "05.12.").
            if len(token) == 1 and token.isalpha():
                continue
            if token in {"no", "nr"} and rest[0].isdigit():
                continue
            if re.fullmatch(r"\d{1,2}(?:\.\d{1,2})?", token):
                continue
        sentences.append(glued[start : match.end(2)].strip())
        start = end
    sentences.append(glued[start:].strip())
    return [s.replace(_GLUE, " ") for s in sentences if s]


def split_sentences(text: str) -> list[str]:
    """Sentences of a plain-text mail in English or German. Greeting and closing lines are left
    out, and so is everything after the closing (name, signature). Abbreviations such as "z. B.",
    "Dr." or "e.g." and ordinals ("3. Dezember") do not end a sentence."""
    out: list[str] = []
    for segment in _segments(text):
        out.extend(_split_segment(segment))
    return out


# --- questions ----------------------------------------------------------------------------------

_ASKS = re.compile(
    r"^(?:[\w ]{1,30},\s*)?(?:(?:could|can|would|will|do|did|are|have)\s+you\b|"
    r"(?:could|can|shall)\s+we\b|(?:können|könnten|würden|haben|sind|wären)\s+sie\b|"
    r"(?:kannst|könntest|würdest|hast|bist|wärst|magst)\s+du\b|"
    r"(?:könnt|habt|seid)\s+ihr\b)",
    re.I,
)
_ANSWER_WANTED = re.compile(
    r"\b(?:let\s+me\s+know|please\s+(?:confirm|advise|reply|respond|get\s+back)|"
    r"(?:gib|gebt|geben\s+sie)\s+(?:mir|uns)\s+(?:bitte\s+)?(?:kurz\s+)?bescheid|"
    r"sag\s+(?:mir\s+)?(?:bitte\s+)?bescheid|bitte\s+(?:um\s+)?(?:kurze\s+)?(?:rückmeldung|"
    r"bestätigung|antwort)|(?:teilen|lassen)\s+sie\s+(?:mich|mir|uns)\s+(?:bitte\s+)?"
    r"(?:wissen|mit)|bitte\s+bestätigen|melde\s+dich|melden\s+sie\s+sich)\b",
    re.I,
)
# Not asking for anything: boilerplate offers and closings.
_NOT_A_QUESTION = re.compile(
    r"\b(?:if\s+you\s+have\s+any\s+(?:further\s+)?questions|let\s+me\s+know\s+if\s+you\s+"
    r"(?:have|need)|bei\s+(?:weiteren\s+)?fragen|falls\s+sie\s+fragen|falls\s+du\s+fragen|"
    r"wenn\s+du\s+fragen|wenn\s+sie\s+fragen|do\s+not\s+hesitate|zögern\s+sie\s+nicht)\b",
    re.I,
)


def questions(text: str) -> list[str]:
    """The sentences of ``text`` that ask the reader something: ending in a question mark, or
    polite requests for an answer ("Could you …", "Kannst du …", "Let me know …", "Gib mir
    Bescheid …"). Question marks inside URLs do not count; "if you have any questions" does
    not."""
    found: list[str] = []
    for sentence in split_sentences(_URL.sub(" ", text)):
        if _NOT_A_QUESTION.search(sentence) and not sentence.endswith("?"):
            continue
        if "?" in sentence or _ASKS.match(sentence) or _ANSWER_WANTED.search(sentence):
            found.append(sentence)
    return found
