"""parse_message: hand-written samples, a 25 MB message and never-raises properties."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailmind.message import parse as parse_module
from mailmind.message.parse import Address, ParsedMessage, decode_text, parse_message

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_BYTES = {path.name: path.read_bytes() for path in sorted(SAMPLES.glob("*.eml"))}


def sample(name: str) -> ParsedMessage:
    return parse_message(SAMPLE_BYTES[name])


def attachment(message: ParsedMessage, filename: str):
    return next(a for a in message.attachments if a.filename == filename)


# --- samples ---------------------------------------------------------------------------------


def test_plain_text_message_headers_are_normalised():
    m = sample("plain.eml")
    assert m.parse_error is None
    assert m.message_id == "20250103100000.ABC123@Mail.Example.ORG"
    assert m.in_reply_to == "prev-1@example.com"
    assert m.references == ["root@example.com", "prev-1@example.com"]
    assert m.subject == "Re: Quarterly planning"
    assert m.sender == Address("Ann Example", "Ann.Example@example.org")
    assert m.to == [Address("Bob", "bob@example.com"), Address("", "carol@example.net")]
    assert m.cc == [Address("Doe, John", "john.doe@example.com")]
    assert "invalid_address:cc" in m.defects
    assert m.reply_to == [Address("Ann Replies", "replies@example.org")]
    assert m.date == datetime(2025, 1, 3, 9, 0, tzinfo=UTC)
    assert m.language == "de-DE"
    assert m.size == len(SAMPLE_BYTES["plain.eml"])
    assert m.raw_sha256 == hashlib.sha256(SAMPLE_BYTES["plain.eml"]).hexdigest()


def test_plain_text_message_keeps_only_safe_headers_decoded():
    m = sample("plain.eml")
    assert m.headers["list-id"] == "Planning <planning.lists.example.org>"
    assert m.headers["list-unsubscribe"].startswith("<mailto:unsubscribe@lists.example.org>")
    assert m.headers["precedence"] == "list"
    assert m.headers["x-mailer"] == "Handwritten 1.0"
    assert m.headers["return-path"] == "<ann@example.org>"
    assert "x-secret-internal" not in m.headers


def test_plain_text_body_is_kept_verbatim():
    m = sample("plain.eml")
    assert m.body_text.startswith("Hi Bob,\n\nthe plan for Q1 is attached below.")
    assert "> Can you send the plan?" in m.body_text
    assert m.body_html is None
    assert m.attachments == []


def test_multipart_alternative_prefers_plain_text_and_sanitises_html():
    m = sample("alternative.eml")
    assert m.body_text == "PLAIN VERSION: everything 20% off."
    assert m.body_html is not None
    assert "HTML VERSION" in m.body_html
    assert "<script" not in m.body_html.lower()
    assert 'data-remote-src="https://tracker.shop.example/open.gif"' in m.body_html
    assert ' src="https://tracker' not in m.body_html
    assert m.has_remote_images is True
    assert m.date == datetime(2025, 3, 10, 8, 15, tzinfo=UTC)


def test_html_only_message_gets_text_with_paragraph_breaks():
    m = sample("html_only.eml")
    assert m.body_text.startswith("Your statement\n\nDear customer,\nyour statement for February")
    assert "\n\nBalance: 1.234,56 €\n\n" in m.body_text
    assert "Statement title" not in m.body_text
    assert "font-family" not in m.body_text
    html = m.body_html or ""
    for forbidden in ("<iframe", "<form", "<input", "<meta", "onload", "url("):
        assert forbidden not in html.lower()
    assert m.has_remote_images is True


def test_german_encoded_words_in_headers_are_decoded():
    m = sample("german_headers.eml")
    assert m.subject == "Grüße aus Köln und Übermorgen"
    assert m.sender == Address("Jürgen Müller", "juergen@beispiel.de")
    assert m.to == [Address("Bärbel Schön", "baerbel@beispiel.de")]
    assert m.body_text == "Hallo Bärbel, schöne Grüße."


def test_rfc2231_and_rfc2047_filenames_are_decoded_and_path_free():
    m = sample("german_headers.eml")
    assert [a.filename for a in m.attachments] == [
        "Rechnung März für Jürgen.pdf",
        "Übersicht Teil 2.pdf",
        "Angebot für Köln.pdf",
    ]
    assert all(a.content.startswith(b"%PDF-1.4") for a in m.attachments)


def test_attachment_and_inline_cid_image():
    m = sample("attachment_inline.eml")
    logo = attachment(m, "logo.png")
    assert logo.content_type == "image/png"
    assert logo.content_id == "logo.123@studio.example"
    assert logo.is_inline is True
    assert logo.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert logo.size == len(logo.content)
    assert logo.sha256 == hashlib.sha256(logo.content).hexdigest()
    pdf = attachment(m, "draft.pdf")  # "../../etc/draft.pdf" lost its path
    assert (pdf.content_type, pdf.is_inline, pdf.content_id) == ("application/pdf", False, None)
    assert pdf.content == b"%PDF-1.4\n% fake pdf\n"
    assert 'data-cid="logo.123@studio.example"' in (m.body_html or "")
    assert m.body_text.startswith("Here is the logo:")


def test_calendar_invite_is_detected_and_read():
    m = sample("calendar.eml")
    assert m.has_calendar is True
    assert m.calendar is not None
    assert m.calendar.method == "REQUEST"
    assert m.calendar.summary == "Project kickoff, phase 1"  # not the VALARM's summary
    assert m.calendar.dtstart == datetime(2025, 3, 20, 9, 0, tzinfo=UTC)  # 10:00 Berlin
    assert m.calendar.organizer == Address("Ann Organizer", "ann@example.org")
    assert m.calendar.uid == "kickoff-2025@example.org"
    assert m.body_text == "You have been invited to Project kickoff."
    assert {a.content_type for a in m.attachments} == {"text/calendar", "application/ics"}


def test_ics_attachment_alone_counts_as_calendar():
    raw = (
        b"From: a@example.org\nSubject: ics\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n\nhi\n'
        b'--B\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="x.ics"\n\n'
        b"BEGIN:VCALENDAR\nMETHOD:CANCEL\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20250401\n"
        b"SUMMARY:Day off\nEND:VEVENT\nEND:VCALENDAR\n--B--\n"
    )
    m = parse_message(raw)
    assert m.has_calendar is True
    assert m.calendar is not None
    assert (m.calendar.method, m.calendar.summary) == ("CANCEL", "Day off")
    assert m.calendar.dtstart == date(2025, 4, 1)


def test_nested_forward_becomes_eml_attachment_not_body():
    m = sample("forward_nested.eml")
    assert m.body_text == "See the forwarded mail below."
    assert "INNER-SECRET-TEXT" not in m.body_text
    assert m.body_html is None
    nested = attachment(m, "Quarterly numbers.eml")
    assert nested.content_type == "message/rfc822"
    inner = parse_message(nested.content)
    assert inner.subject == "Quarterly numbers"
    assert inner.message_id == "inner-1@example.org"
    assert inner.body_text == "INNER-SECRET-TEXT: revenue up 12%."


def test_broken_boundary_is_recovered():
    m = sample("broken_boundary.eml")
    assert m.subject == "Broken boundary"
    assert m.body_text == "The body survived the wrong boundary."
    assert attachment(m, "data.bin").content == bytes(range(10))
    assert "StartBoundaryNotFoundDefect" in m.defects
    assert "boundary_recovered" in m.defects
    assert m.parse_error is None


def test_missing_header_body_separator_keeps_headers_and_body():
    m = sample("missing_separator.eml")
    assert m.subject == "No blank line"
    assert m.sender == Address("Hasty", "hasty@example.org")
    assert m.date == datetime(2025, 3, 16, 10, 0, tzinfo=UTC)
    assert m.body_text.startswith("This line should have been separated from the headers.")
    assert "MissingHeaderBodySeparatorDefect" in m.defects


def test_lying_charsets_fall_back_without_losing_characters():
    m = sample("lying_charset.eml")
    for expected in (
        "ASCII-LABEL utf-8 bytes: München",
        "UTF8-LABEL cp1252 bytes: Düsseldorf €",
        "UNKNOWN-LABEL: Köln",
        "CP850-LABEL: Nürnberg",
        "LATIN1-LABEL cp1252 bytes: „quoted“ – €",
    ):
        assert expected in m.body_text
    assert "\ufffd" not in m.body_text
    for defect in (
        "charset_fallback:us-ascii→utf-8",
        "charset_fallback:utf-8→cp1252",
        "charset_fallback:x-unknown→utf-8",
        "charset_fallback:cp-850→utf-8",
        "charset_fallback:iso-8859-1→cp1252",
    ):
        assert defect in m.defects


def test_raw_8bit_headers_decode_as_utf8_then_cp1252():
    m = sample("raw_8bit_headers.eml")
    assert m.subject == "Grüße aus Köln – €5"
    assert m.sender == Address("Jürgen Müller", "juergen@beispiel.de")  # cp1252 bytes
    assert m.to == [Address("Bärbel", "baerbel@beispiel.de")]  # utf-8 bytes
    assert m.body_text == "Ohne MIME-Header, aber mit UTF-8: äöü ß."
    assert "raw_8bit_header:subject" in m.defects
    assert "charset_fallback:us-ascii→cp1252" in m.defects


def test_truncated_base64_attachment_keeps_decodable_prefix():
    m = sample("truncated_base64.eml")
    assert m.body_text == "The attachment was cut off in transit. Grüße und Tschü"
    report = attachment(m, "report.txt")
    assert report.content.startswith(
        b"This is the first line of the report.\nThis is the second line of the re"
    )
    assert "base64_truncated" in m.defects
    assert "CloseBoundaryNotFoundDefect" in m.defects


# --- edge cases ------------------------------------------------------------------------------


def test_empty_and_blank_input_set_parse_error():
    assert parse_message(b"").parse_error == "empty message"
    assert parse_message(b"\r\n\r\n").parse_error == "empty message"


def test_non_bytes_input_sets_parse_error():
    assert parse_message("From: a@b\n\nx").parse_error == "input is not bytes"  # type: ignore[arg-type]


def test_headerless_garbage_still_returns_its_text():
    m = parse_message(b"just some words\nwithout any header\n")
    assert m.parse_error is None
    assert m.body_text == "just some words\nwithout any header"
    assert m.subject == ""


def test_garbage_date_is_none_with_defect():
    m = parse_message(b"From: a@example.org\nDate: the day after tomorrow\n\nbody")
    assert m.date is None
    assert "invalid_date" in m.defects


def test_naive_date_is_taken_as_utc():
    m = parse_message(b"From: a@example.org\nDate: Mon, 10 Mar 2025 08:15:00\n\nbody")
    assert m.date == datetime(2025, 3, 10, 8, 15, tzinfo=UTC)


def test_message_id_without_brackets_and_references_without_duplicates():
    m = parse_message(
        b"Message-ID: abc@x.example\nReferences: <r1@x> <r2@x>\n <r1@x> <r3@x>\n\nbody"
    )
    assert m.message_id == "abc@x.example"
    assert m.references == ["r1@x", "r2@x", "r3@x"]
    assert parse_message(b"Subject: none\n\nbody").message_id is None


def test_text_longer_than_limit_is_truncated_with_defect():
    raw = b"From: a@example.org\nContent-Type: text/plain\n\n" + b"x" * 5000
    m = parse_message(raw, max_text_chars=1000)
    assert len(m.body_text) == 1000
    assert "text_truncated" in m.defects


def test_nul_bytes_never_reach_text():
    raw = b"From: a@example.org\nSubject: a\x00b\nContent-Type: text/plain\n\nhello\x00world"
    m = parse_message(raw)
    assert m.subject == "ab"
    assert m.body_text == "helloworld"


def test_format_flowed_soft_breaks_are_joined():
    raw = (
        b"From: a@example.org\nContent-Type: text/plain; charset=utf-8; format=flowed\n\n"
        b"This paragraph was wrapped \nby the sender's client.\n\n> quoted and \n> wrapped\n-- \nAnn"
    )
    m = parse_message(raw)
    assert m.body_text == (
        "This paragraph was wrapped by the sender's client.\n\n> quoted and wrapped\n-- \nAnn"
    )


def test_html_part_without_charset_uses_meta_charset():
    raw = (
        b"From: a@example.org\nContent-Type: text/html\n\n"
        b'<html><head><meta charset="iso-8859-1"></head><body><p>Gr\xfc\xdfe</p></body></html>'
    )
    m = parse_message(raw)
    assert m.body_text == "Grüße"


def test_multipart_without_any_boundary_keeps_text():
    raw = b"From: a@example.org\nContent-Type: multipart/mixed\n\nno parts here at all\n"
    m = parse_message(raw)
    assert m.body_text == "no parts here at all"
    assert "NoBoundaryInMultipartDefect" in m.defects


def test_deeply_nested_multipart_does_not_raise():
    depth = 2500
    body = b"".join(
        b'--b%d\nContent-Type: multipart/mixed; boundary="b%d"\n\n' % (i - 1, i)
        for i in range(1, depth)
    )
    raw = b'From: a@example.org\nSubject: deep\nContent-Type: multipart/mixed; boundary="b0"\n\n'
    m = parse_message(raw + body + b"--b%d\n\ntext\n" % (depth - 1))
    assert m.subject == "deep"
    assert "nesting_too_deep" in m.defects
    assert m.parse_error is None


def test_a_parser_bug_still_returns_the_identifying_headers(monkeypatch: pytest.MonkeyPatch):
    def broken_walk(*args: object, **kwargs: object) -> None:
        raise ValueError("bug")

    monkeypatch.setattr(parse_module._Walker, "walk", broken_walk)
    m = parse_message(SAMPLE_BYTES["plain.eml"])
    assert m.subject == "Re: Quarterly planning"
    assert m.message_id == "20250103100000.ABC123@Mail.Example.ORG"
    assert "parser_crashed:ValueError" in m.defects
    assert m.parse_error is None
    assert parse_message(b"no headers at all").parse_error == "ValueError: bug"


def test_thousands_of_tiny_parts_are_all_kept():
    parts = b"".join(
        b'--B\nContent-Type: image/png; name="p%d.png"\nContent-ID: <c%d>\n\nabc\n' % (i, i)
        for i in range(2000)
    )
    raw = b"From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\n" + parts + b"--B--\n"
    m = parse_message(raw)
    assert len(m.attachments) == 2000
    assert m.attachments[-1].filename == "p1999.png"
    assert m.attachments[-1].content_id == "c1999"


def test_huge_encoded_subject_is_capped():
    raw = b"From: a@example.org\nSubject: " + b"=?utf-8?q?Gr=C3=BC=C3=9Fe?= " * 50_000 + b"\n\nx"
    m = parse_message(raw)
    assert m.subject.startswith("GrüßeGrüße")  # no space between adjacent encoded words
    assert m.subject.endswith("Grüße")
    assert len(m.subject) <= 16_384
    assert "header_truncated:subject" in m.defects


def test_decode_text_declared_charset_is_used_when_truthful():
    defects: list[str] = []
    assert decode_text("Grüße".encode("iso-8859-15"), "ISO-8859-15", defects) == "Grüße"
    assert decode_text("こんにちは".encode("shift_jis"), "shift_jis", defects) == "こんにちは"
    assert decode_text(b"+AOQ-", "utf-7", defects) == "ä"
    assert defects == []


# --- a 25 MB message -------------------------------------------------------------------------


def _big_message(attachment_bytes: bytes, text: str, html: str) -> bytes:
    encoded = base64.encodebytes(attachment_bytes)
    return b"".join(
        [
            b"From: Big <big@example.org>\r\nTo: x@example.com\r\nSubject: Big one\r\n",
            b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="BIG"\r\n\r\n',
            b'--BIG\r\nContent-Type: multipart/alternative; boundary="ALT"\r\n\r\n',
            b"--ALT\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
            text.encode(),
            b"\r\n--ALT\r\nContent-Type: text/html; charset=utf-8\r\n\r\n",
            html.encode(),
            b"\r\n--ALT--\r\n",
            b"--BIG\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n",
            b'Content-Disposition: attachment; filename="big.zip"\r\n\r\n',
            encoded,
            b"--BIG--\r\n",
        ]
    )


def test_25_mb_message_is_parsed_with_attachment_whole():
    payload = os.urandom(17 * 1024 * 1024)
    text = "Zeile mit Umlauten: äöü.\n" * 40_000  # ~1 MB
    html = '<p>Absatz <b>fett</b> <img src="https://img.example/p.png"></p>\n' * 16_000  # ~1 MB
    raw = _big_message(payload, text, html)
    assert len(raw) >= 25 * 1000 * 1000
    started = time.perf_counter()
    m = parse_message(raw)
    elapsed = time.perf_counter() - started
    print(f"\n25 MB message ({len(raw) / 1e6:.1f} MB) parsed in {elapsed:.2f} s")
    big = attachment(m, "big.zip")
    assert big.size == len(payload)
    assert big.sha256 == hashlib.sha256(payload).hexdigest()
    assert m.body_text.startswith("Zeile mit Umlauten: äöü.")
    assert m.has_remote_images is True
    assert m.parse_error is None


def test_25_mb_text_body_is_cut_to_max_text_chars():
    line = "Ein sehr langer Text, Zeile für Zeile.\n"
    raw = (
        b"From: a@example.org\r\nSubject: long\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + (line * (25 * 1000 * 1000 // len(line))).encode()
    )
    started = time.perf_counter()
    m = parse_message(raw)
    print(f"\n25 MB text body parsed in {time.perf_counter() - started:.2f} s")
    assert len(m.body_text) == 2_000_000
    assert m.body_text.startswith(line)
    assert "text_truncated" in m.defects


# --- never raises ----------------------------------------------------------------------------


def _assert_storable(m: ParsedMessage) -> None:
    """What the caller stores in PostgreSQL: text without NUL or lone surrogates."""
    assert isinstance(m, ParsedMessage)
    assert not any(d.startswith("parser_crashed") for d in m.defects), m.defects
    strings = [m.subject, m.body_text, m.body_html or "", *m.headers.values(), *m.defects]
    strings += [m.message_id or "", m.in_reply_to or "", *m.references]
    for address in [m.sender, *m.to, *m.cc, *m.bcc, *m.reply_to]:
        if address is not None:
            strings += [address.name, address.address]
            assert "@" in address.address
    strings += [a.filename for a in m.attachments]
    for text in strings:
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates
    for a in m.attachments:
        assert a.size == len(a.content)
        assert a.filename
        assert "/" not in a.filename and "\\" not in a.filename
    assert m.date is None or m.date.tzinfo is not None


_FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise(raw: bytes):
    _assert_storable(parse_message(raw))


_ATOMS = [
    b"\r\n",
    b"\n",
    b"\r\n\r\n",
    b": ",
    b"=?utf-8?q?",
    b"=?x-unknown?b?",
    b"?=",
    b"--",
    b"=\r\n",
    b"Content-Type: multipart/mixed; boundary=",
    b"Content-Type: message/rfc822",
    b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: quoted-printable",
    b"charset=",
    b"filename*0*=",
    b"''%FF",
    b"<",
    b">",
    b"@",
    b'"',
    b"\\",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xe4",
    b"From: ",
    b"To: ",
    b"Date: ",
    b"Subject: ",
    b"Message-ID: ",
    b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;TZID=",
    b"text/calendar",
    b"<img src=cid:",
]


@st.composite
def _mutated_sample(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(sorted(SAMPLE_BYTES.values()))))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["truncate", "flip", "unbound", "cut", "insert"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "truncate":
            del data[position:]
        elif kind == "flip" and data:
            data[position] = draw(st.integers(0, 255))
        elif kind == "unbound":
            data = bytearray(bytes(data).replace(b"--", b"", draw(st.integers(1, 4))))
        elif kind == "cut":
            del data[position : position + draw(st.integers(1, 300))]
        else:
            data[position:position] = draw(st.sampled_from(_ATOMS))
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated_sample())
def test_mutated_samples_never_raise(raw: bytes):
    _assert_storable(parse_message(raw))


@_FAST
@given(
    st.sampled_from(sorted(SAMPLE_BYTES)),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=20),
    st.integers(0, 10**6),
)
def test_damage_after_the_headers_keeps_the_headers(name: str, flips, cut: int):
    raw = SAMPLE_BYTES[name]
    separator = re.search(rb"\r?\n\r?\n", raw)
    assert separator is not None or name == "missing_separator.eml"
    if separator is None:
        return
    head, body = raw[: separator.end()], bytearray(raw[separator.end() :])
    for position, value in flips:
        if body:
            body[position % len(body)] = value
    damaged = parse_message(head + bytes(body[: cut % (len(body) + 1)]))
    original = parse_message(raw)
    assert damaged.subject == original.subject
    assert damaged.sender == original.sender
    assert damaged.date == original.date
    assert damaged.message_id == original.message_id
    _assert_storable(damaged)


# --- MIME boundaries without a regex per boundary ----------------------------------------------

_BOUNDARY_TAIL = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"


def _stdlib_boundary_pattern(boundary: str) -> str:
    # What email.feedparser compiles for each multipart (Python 3.11's feedparser.py).
    return "(?P<sep>" + re.escape("--" + boundary) + _BOUNDARY_TAIL


@_FAST
@given(
    st.text(min_size=1, max_size=70),
    st.lists(
        st.sampled_from(["", "--", " ", "\t", "\r\n", "\n", "\r", "x", "-", "--\n", "\n\n"]),
        max_size=4,
    ),
    st.booleans(),
)
def test_boundary_lines_match_exactly_as_the_standard_library_regex(
    boundary: str, tail: list[str], prefixed: bool
):
    pattern = _stdlib_boundary_pattern(boundary)
    line = ("x" if prefixed else "") + "--" + boundary + "".join(tail)
    expected = re.compile(pattern).match(line)
    matcher = parse_module.feedparser.re.compile(pattern)
    assert isinstance(matcher, parse_module._BoundaryMatcher)
    found = matcher.match(line)
    assert (found is None) == (expected is None)
    if expected is not None and found is not None:
        assert found.group("end", "linesep") == expected.group("end", "linesep")


def test_other_patterns_still_compile_as_regular_expressions():
    compiled = parse_module.feedparser.re.compile(r"a+b")
    assert compiled.match("aab")
    flagged = parse_module.feedparser.re.compile(_stdlib_boundary_pattern("x"), re.I)
    assert isinstance(flagged, re.Pattern)


def test_nested_multiparts_parse_the_same_with_the_boundary_matcher(monkeypatch):
    parsed = {name: parse_message(raw) for name, raw in SAMPLE_BYTES.items()}
    monkeypatch.setitem(parse_module.feedparser.__dict__, "re", re)
    assert {name: parse_message(raw) for name, raw in SAMPLE_BYTES.items()} == parsed
