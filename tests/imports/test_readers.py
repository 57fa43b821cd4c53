"""Streaming readers: mbox (mboxo/mboxrd, LF/CRLF), .eml, zip, detection by content, and
constant memory on a large file."""

from __future__ import annotations

import io
import mailbox
import os
import re
import tracemalloc
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailmind.imports.readers import (
    TOO_LARGE,
    MailFileError,
    count_messages,
    detect_kind,
    iter_eml,
    iter_mbox,
    iter_zip,
    scan_mbox,
    sniff,
)
from tests.imports.mailfiles import (
    SEPARATOR,
    make_message,
    mbox_bytes,
    to_bytes,
    write_mbox,
    write_zip,
)

MiB = 1 << 20


def _ids(raws: list[bytes]) -> list[str]:
    return [str(message_from_bytes(raw, policy=policy.default)["Message-ID"]) for raw in raws]


@pytest.mark.parametrize("linesep", ["\n", "\r\n"])
def test_mbox_yields_every_message_byte_for_byte(tmp_path: Path, linesep: str) -> None:
    raws = [to_bytes(make_message(i), linesep) for i in range(300)]
    path = write_mbox(tmp_path / "mail.mbox", raws, linesep=linesep)
    found = list(iter_mbox(path, max_message_bytes=MiB))
    assert [m.raw for m in found] == raws
    assert all(m.error is None for m in found)
    assert found[-1].next_position == path.stat().st_size
    assert count_messages(path, "mbox", max_message_bytes=MiB) == 300


def test_mboxrd_quoted_from_lines_are_unquoted_one_level(tmp_path: Path) -> None:
    body = "Hi,\n\nFrom here on it is quoted.\n>From the archive\n>>From deeper\nEnd.\n"
    raw = to_bytes(make_message(1, body=body))
    data = mbox_bytes([raw, to_bytes(make_message(2))])
    assert b"\n>From here on" in data and b"\n>>From the archive" in data
    path = tmp_path / "rd.mbox"
    path.write_bytes(data)
    first, second = list(iter_mbox(path, max_message_bytes=MiB))
    assert first.raw == raw
    assert b"\nFrom here on it is quoted." in first.raw
    assert second.raw == to_bytes(make_message(2))


def test_a_from_line_inside_a_body_without_an_empty_line_before_it_is_not_a_separator(
    tmp_path: Path,
) -> None:
    body = "Dear team,\nFrom the desk of the director: all is well.\nBye\n"
    raws = [to_bytes(make_message(i, body=body)) for i in range(3)]
    path = write_mbox(tmp_path / "o.mbox", raws, quote=False)
    found = list(iter_mbox(path, max_message_bytes=MiB))
    assert [m.raw for m in found] == raws
    assert b"\nFrom the desk of the director" in found[0].raw


def test_mbox_written_by_the_standard_library_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "stdlib.mbox"
    box = mailbox.mbox(path)
    body = "Line one\n\nFrom a line the writer must quote\nlast\n"
    for i in range(20):
        box.add(make_message(i, body=body))
    box.flush()
    box.close()
    found = list(iter_mbox(path, max_message_bytes=MiB))
    assert _ids([m.raw for m in found]) == [f"<import-{i}@example.com>" for i in range(20)]
    text = message_from_bytes(found[3].raw, policy=policy.default).get_content()
    assert "\nFrom a line the writer must quote\n" in text


def test_reading_resumes_at_next_position_without_gap_or_repeat(tmp_path: Path) -> None:
    raws = [to_bytes(make_message(i)) for i in range(50)]
    path = write_mbox(tmp_path / "r.mbox", raws)
    everything = list(iter_mbox(path, max_message_bytes=MiB))
    resumed = list(iter_mbox(path, max_message_bytes=MiB, start=everything[19].next_position))
    assert [m.raw for m in everything[:20] + resumed] == raws


def test_an_oversize_message_is_reported_without_its_bytes(tmp_path: Path) -> None:
    big = to_bytes(make_message(2, attachment=os.urandom(300_000)))
    raws = [to_bytes(make_message(1)), big, to_bytes(make_message(3))]
    path = write_mbox(tmp_path / "big.mbox", raws)
    found = list(iter_mbox(path, max_message_bytes=100_000, block_size=4096))
    assert [m.error for m in found] == [None, TOO_LARGE, None]
    assert found[1].raw == b""
    assert found[1].size == len(big)
    assert [found[0].raw, found[2].raw] == [raws[0], raws[2]]


def test_a_file_that_does_not_start_with_a_separator_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.mbox"
    path.write_bytes(b"Hello world\n\nFrom a\nbody\n")
    with pytest.raises(MailFileError):
        list(iter_mbox(path, max_message_bytes=MiB))


# --- property test against a line-by-line model of the format --------------------------------


def _model(data: bytes, cap: int) -> list[tuple[bytes | None, int]]:
    """mbox read line by line: (unquoted message or None when over ``cap``, size in file)."""
    lines = re.findall(rb"[^\n]*\n|[^\n]+$", data)
    while lines and lines[0].strip(b"\r\n") == b"":
        lines.pop(0)
    messages: list[list[bytes]] = []
    previous_blank = True
    for line in lines:
        if line.startswith(b"From ") and previous_blank:
            if messages and messages[-1] and messages[-1][-1] in (b"\n", b"\r\n"):
                messages[-1].pop()
            messages.append([])
        else:
            messages[-1].append(line)
        previous_blank = line in (b"\n", b"\r\n")
    if messages and messages[-1] and messages[-1][-1] in (b"\n", b"\r\n"):
        messages[-1].pop()
    result: list[tuple[bytes | None, int]] = []
    for body in messages:
        source = b"".join(body)
        if len(source) > cap:
            result.append((None, len(source)))
            continue
        raw = b"".join(line[1:] if re.match(rb">+From ", line) else line for line in body)
        if raw.strip():
            result.append((raw, len(source)))
    return result


_PIECES = [
    b"From a b\n",
    b"From c\r\n",
    b"\n",
    b"\r\n",
    b">From q\n",
    b">>From r\r\n",
    b"text line\n",
    b"Subject: x\r\n",
    b"no newline",
    b"\r",
    b">",
    b"From",
    b"From ",
    b" ",
]


@settings(max_examples=400, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=40),
    block_size=st.integers(1, 24),
    cap=st.integers(8, 80),
)
def test_block_reader_agrees_with_the_line_model(
    pieces: list[bytes], block_size: int, cap: int
) -> None:
    data = b"From start\n" + b"".join(pieces)
    found = list(scan_mbox(io.BytesIO(data), max_message_bytes=cap, block_size=block_size))
    assert [(m.raw if m.error is None else None, m.size) for m in found] == _model(data, cap)
    for index, message in enumerate(found):
        # Resuming at any message boundary yields exactly the rest.
        stream = io.BytesIO(data)
        stream.seek(message.next_position)
        rest = list(
            scan_mbox(stream, start=message.next_position, max_message_bytes=cap, block_size=7)
        )
        assert [(m.raw, m.size) for m in rest] == [(m.raw, m.size) for m in found[index + 1 :]]


# --- .eml and zip ------------------------------------------------------------------------------


def test_eml_yields_its_message_once(tmp_path: Path) -> None:
    raw = to_bytes(make_message(7), "\r\n")
    path = tmp_path / "one.eml"
    path.write_bytes(raw)
    (message,) = list(iter_eml(path, max_message_bytes=MiB))
    assert message.raw == raw
    assert list(iter_eml(path, max_message_bytes=MiB, start=message.next_position)) == []
    (big,) = list(iter_eml(path, max_message_bytes=100))
    assert big.error == TOO_LARGE and big.raw == b""


def test_zip_reads_eml_members_in_nested_directories_and_skips_the_rest(tmp_path: Path) -> None:
    members = [
        ("top.eml", to_bytes(make_message(1))),
        ("2019/inbox/a.EML", to_bytes(make_message(2))),
        ("__MACOSX/2019/inbox/._a.EML", b"\x00\x05\x16\x07 resource fork"),
        ("2019/notes.txt", b"not mail"),
        ("2019/inbox/deeper/b.eml", to_bytes(make_message(3))),
    ]
    path = write_zip(tmp_path / "mail.zip", members)
    found = list(iter_zip(path, max_message_bytes=MiB))
    assert [m.name for m in found] == ["top.eml", "2019/inbox/a.EML", "2019/inbox/deeper/b.eml"]
    assert [m.raw for m in found] == [members[0][1], members[1][1], members[4][1]]
    assert count_messages(path, "zip", max_message_bytes=MiB) == 3
    rest = list(iter_zip(path, max_message_bytes=MiB, start=found[0].next_position))
    assert [m.name for m in rest] == [m.name for m in found[1:]]


def test_zip_member_over_the_cap_is_too_large(tmp_path: Path) -> None:
    big = to_bytes(make_message(1, attachment=os.urandom(50_000)))
    path = write_zip(tmp_path / "z.zip", [("a.eml", big), ("b.eml", to_bytes(make_message(2)))])
    found = list(iter_zip(path, max_message_bytes=20_000))
    assert [m.error for m in found] == [TOO_LARGE, None]


# --- detection ---------------------------------------------------------------------------------


def test_kind_is_detected_by_content_not_by_name(tmp_path: Path) -> None:
    mbox = write_mbox(tmp_path / "export.txt", [to_bytes(make_message(1))])
    eml = tmp_path / "message.dat"
    eml.write_bytes(to_bytes(make_message(2)))
    archive = write_zip(tmp_path / "archive.bin", [("x/m.eml", to_bytes(make_message(3)))])
    assert detect_kind(mbox) == "mbox"
    assert detect_kind(eml) == "eml"
    assert detect_kind(archive) == "zip"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x89PNG\r\n\x1a\n" + bytes(100),
        b"Note: buy milk\nand bread\n",
        b"just some text\n",
        b'{"json": true}\n',
        b"%PDF-1.7\n",
    ],
)
def test_files_that_are_not_mail_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "file.mbox"
    path.write_bytes(content)
    with pytest.raises(MailFileError):
        detect_kind(path)


def test_a_zip_without_eml_files_is_refused(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "docs.zip", [("a.txt", b"x"), ("__MACOSX/._a.eml", b"y")])
    with pytest.raises(MailFileError):
        detect_kind(path)


def test_sniff_reads_headers_of_a_message_with_leading_x_headers() -> None:
    head = b"X-Mozilla-Status: 0001\r\nX-Mozilla-Keys:\r\n  \r\nSubject: hi\r\n\r\nbody"
    assert sniff(head) == "eml"
    assert sniff(SEPARATOR.encode() + b"\n") == "mbox"


# --- constant memory ---------------------------------------------------------------------------


def test_reading_a_large_mbox_keeps_memory_flat(tmp_path: Path) -> None:
    path = tmp_path / "large.mbox"
    templates = [to_bytes(make_message(i, attachment=os.urandom(70_000))) for i in range(16)]
    giant = to_bytes(make_message(999, attachment=os.urandom(24 * MiB)))
    count = 0
    with path.open("wb") as handle:
        while handle.tell() < 200 * MiB:
            raw = templates[count % 16].replace(
                f"<import-{count % 16}@".encode(), f"<large-{count}@".encode()
            )
            handle.write(mbox_bytes([raw]))
            count += 1
            if count == 500:
                handle.write(mbox_bytes([giant]))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        seen = too_large = 0
        for message in iter_mbox(path, max_message_bytes=4 * MiB):
            seen += 1
            too_large += message.error == TOO_LARGE
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (seen, too_large) == (count + 1, 1)
    assert size > 200 * MiB
    # One block and one message at most: a few MiB for a 200 MiB file.
    assert peak < 12 * MiB, f"peak {peak / MiB:.1f} MiB"
