"""split_reply and normalize_subject."""

from __future__ import annotations

import pytest

from mailmind.message.quotes import ReplyParts, normalize_subject, split_reply


def test_text_without_quotes_is_all_new():
    assert split_reply("Hello\n\nJust a note.\n") == ReplyParts("Hello\n\nJust a note.", "", "")


def test_english_attribution_starts_quote():
    parts = split_reply(
        "Sounds good.\n\nOn Mon, 3 Jan 2025 at 10:00, Ann <a@x.example> wrote:\n> Lunch?\n> Ann\n"
    )
    assert parts.new_text == "Sounds good."
    assert parts.quoted_text.startswith("On Mon, 3 Jan 2025 at 10:00, Ann <a@x.example> wrote:")
    assert parts.quoted_text.endswith("> Ann")
    assert parts.signature == ""


def test_attribution_wrapped_over_two_lines():
    parts = split_reply(
        "Yes.\n\nOn Mon, 3 Jan 2025 at 10:00, Ann Very-Long-Name\n<ann@x.example> wrote:\n\n> Lunch?"
    )
    assert parts.new_text == "Yes."
    assert "> Lunch?" in parts.quoted_text


def test_german_attribution_starts_quote():
    parts = split_reply("Passt.\n\nAm 03.01.2025 um 10:00 schrieb Ann <a@x.example>:\n> Mittag?\n")
    assert parts.new_text == "Passt."
    assert parts.quoted_text.startswith("Am 03.01.2025 um 10:00 schrieb Ann <a@x.example>:")


@pytest.mark.parametrize(
    "separator", ["-----Original Message-----", "-----Ursprüngliche Nachricht-----"]
)
def test_original_message_separator_starts_unprefixed_quote(separator: str):
    parts = split_reply(
        f"Done.\n\n{separator}\nFrom: Ann\nSent: Monday\nSubject: Task\n\nPlease do it."
    )
    assert parts.new_text == "Done."
    assert parts.quoted_text.startswith(separator)
    assert parts.quoted_text.endswith("Please do it.")


def test_outlook_header_block_with_underscores():
    text = (
        "See attached.\n\n________________________________\n"
        "From: Ann Example <a@x.example>\nSent: Monday, January 3, 2025 10:00 AM\n"
        "To: Bob <b@x.example>\nSubject: Report\n\nCan you send the report?"
    )
    parts = split_reply(text)
    assert parts.new_text == "See attached."
    assert parts.quoted_text.startswith("________________________________\nFrom: Ann Example")


def test_german_outlook_header_block():
    text = (
        "Anbei.\n\nVon: Ann Beispiel <a@x.example>\nGesendet: Montag, 3. Januar 2025 10:00\n"
        "An: Bob <b@x.example>\nBetreff: Bericht\n\nKannst du den Bericht schicken?"
    )
    parts = split_reply(text)
    assert parts.new_text == "Anbei."
    assert parts.quoted_text.startswith("Von: Ann Beispiel")


def test_a_from_line_alone_is_not_a_header_block():
    text = "From: the team we heard good things.\nThanks"
    assert split_reply(text).new_text == text


def test_sig_dash_signature_is_split_off():
    parts = split_reply("Thanks!\n-- \nAnn Example\nExample GmbH\n\nOn Mon, Bob wrote:\n> hi")
    assert parts.new_text == "Thanks!"
    assert parts.signature == "Ann Example\nExample GmbH"
    assert parts.quoted_text == "On Mon, Bob wrote:\n> hi"


@pytest.mark.parametrize(
    "mobile",
    [
        "Sent from my iPhone",
        "Von meinem iPhone gesendet",
        "Sent from my Galaxy",
        "Get Outlook for iOS",
    ],
)
def test_mobile_signature_is_split_off(mobile: str):
    parts = split_reply(f"OK, see you then.\n\n{mobile}\n\nOn Mon, 3 Jan 2025, Ann wrote:\n> Meet?")
    assert parts.new_text == "OK, see you then."
    assert parts.signature == mobile
    assert parts.quoted_text.endswith("> Meet?")


def test_bottom_posted_reply_keeps_new_text_after_quote():
    parts = split_reply("Ann wrote:\n> Meet at 10?\n\nYes, 10 works.\n-- \nBob")
    assert parts.new_text == "Yes, 10 works."
    assert parts.quoted_text == "Ann wrote:\n> Meet at 10?"
    assert parts.signature == "Bob"


def test_inline_answers_between_quotes_are_new():
    text = (
        "On Mon, 3 Jan 2025 at 10:00, Ann <a@x> wrote:\n> Question one?\nAnswer one.\n"
        "> Question two?\nAnswer two.\n"
    )
    parts = split_reply(text)
    assert parts.new_text == "Answer one.\nAnswer two."
    assert "> Question one?\n> Question two?" in parts.quoted_text
    assert parts.quoted_text.startswith("On Mon, 3 Jan 2025")


def test_wrote_in_a_sentence_without_quote_is_not_a_cut():
    text = "Here is what he wrote:\nthe plan is fine."
    assert split_reply(text).new_text == text


def test_crlf_input():
    parts = split_reply("Hi\r\n\r\nOn Mon, Ann wrote:\r\n> x\r\n")
    assert parts == ReplyParts("Hi", "On Mon, Ann wrote:\n> x", "")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Hello", "hello"),
        ("RE: RE: Hello", "hello"),
        ("Aw: AW: Hello", "hello"),
        ("Fwd: Re: Hello", "hello"),
        ("FW: Hello", "hello"),
        ("Fw: Hello", "hello"),
        ("WG: Wg: Hello", "hello"),
        ("Re[2]: Hello", "hello"),
        ("Re(3): Hello", "hello"),
        ("[list-tag] Re: [list-tag] Hello", "hello"),
        ("  Re:   Quarterly \t planning  ", "quarterly planning"),
        ("Re:Hello", "hello"),
        ("Antw: SV: Hello", "hello"),
        ("Hello: world", "hello: world"),
        ("Regarding the plan", "regarding the plan"),
        ("Fwdx: Hello", "fwdx: hello"),
        ("", ""),
    ],
)
def test_normalize_subject(subject: str, expected: str):
    assert normalize_subject(subject) == expected
