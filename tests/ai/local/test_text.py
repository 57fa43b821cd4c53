import pytest

from mailmind.ai.local.text import mail_language, questions, split_sentences


def test_german_abbreviations_and_ordinals_do_not_end_sentences() -> None:
    text = (
        "Hallo Anna,\n\nwie besprochen schicke ich dir z. B. die Unterlagen vom 3. Dezember. "
        "Dr. Müller hat zugestimmt, d. h. wir können starten! Bitte bis zum 05.12. antworten."
    )
    assert split_sentences(text) == [
        "wie besprochen schicke ich dir z. B. die Unterlagen vom 3. Dezember.",
        "Dr. Müller hat zugestimmt, d. h. wir können starten!",
        "Bitte bis zum 05.12. antworten.",
    ]


def test_english_abbreviations_and_initials_do_not_end_sentences() -> None:
    text = "Mr. J. Smith joined, e.g. for the audit. It went fine. See No. 5 on the list."
    assert split_sentences(text) == [
        "Mr. J. Smith joined, e.g. for the audit.",
        "It went fine.",
        "See No. 5 on the list.",
    ]


def test_soft_wrapped_lines_are_joined_and_bullets_kept_apart() -> None:
    text = "The plan has two\nparts:\n- migrate the database\n- switch the DNS\n"
    assert split_sentences(text) == [
        "The plan has two parts:",
        "- migrate the database",
        "- switch the DNS",
    ]


@pytest.mark.parametrize("closing", ["Best regards,", "Viele Grüße", "Thanks,", "LG", "Cheers"])
def test_nothing_after_the_closing_line_is_a_sentence(closing: str) -> None:
    text = f"Hi Tom,\n\nThe report is done.\n\n{closing}\nAnna Schmidt\nHead of Sales, ACME Inc."
    assert split_sentences(text) == ["The report is done."]


def test_a_sentence_starting_with_thanks_is_not_a_closing() -> None:
    text = "Thanks for the update. I will review it today."
    assert split_sentences(text) == ["Thanks for the update.", "I will review it today."]


def test_questions_in_english_and_german() -> None:
    assert questions("Could you send the file. It is late.") == ["Could you send the file."]
    assert questions("Kannst du mir helfen") == ["Kannst du mir helfen"]
    assert questions("Anna, können Sie das prüfen.") == ["Anna, können Sie das prüfen."]
    assert questions("Gib mir bitte kurz Bescheid.") == ["Gib mir bitte kurz Bescheid."]
    assert questions("Wann passt es dir? Ich bin flexibel.") == ["Wann passt es dir?"]


def test_links_and_boilerplate_are_not_questions() -> None:
    assert questions("Read more at https://example.com/a?b=1 today.") == []
    assert questions("If you have any questions, let me know.") == []
    assert questions("Bei Fragen melden Sie sich gerne.") == []


@pytest.mark.parametrize(
    ("hint", "text", "expected"),
    [
        ("german", "anything", "de"),
        ("de-AT", "anything", "de"),
        ("english", "irgendwas", "en"),
        ("simple", "Treffen wir uns am Donnerstag um 15 Uhr?", "de"),
        ("simple", "Shall we meet on Thursday at 3 pm?", "en"),
        (
            None,
            "Das ist die Rechnung für den Monat, bitte prüfen und mir sagen ob alles passt.",
            "de",
        ),
    ],
)
def test_mail_language(hint: str | None, text: str, expected: str) -> None:
    assert mail_language(hint, text) == expected
