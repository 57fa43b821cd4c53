from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailmind.ai.local.suggest import TONES, MessageFields, Tone, detect_intent, suggest_replies

WRITTEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday

MEETING_EN: MessageFields = {
    "subject": "Budget review next week",
    "body": "Hi Bob,\n\ncould we meet on Thursday at 3 pm to go through the budget?\n\nBest\nTom",
    "sender_name": "Tom Baker",
    "date": WRITTEN,
}
MEETING_DE: MessageFields = {
    "subject": "Abstimmung",
    "body": "Hallo Bob,\n\nwollen wir uns am Donnerstag um 15 Uhr zum Budget treffen?\n\nLG\nMax",
    "sender_name": "Max Mustermann",
    "date": WRITTEN,
}
QUESTION_DE_SIE: MessageFields = {
    "subject": "Zahlen November",
    "body": "Sehr geehrter Herr Meier,\n\nkönnen Sie mir sagen, ob die Zahlen für November "
    "schon final sind?\n\nMit freundlichen Grüßen\nLisa Weber",
    "sender_name": "Weber, Lisa",
    "date": WRITTEN,
    "language": "german",
}


def texts(fields: MessageFields, tone: Tone, language: str | None = None) -> list[str]:
    return [s.text for s in suggest_replies(fields, tone, language)]


def test_meeting_request_with_time_accept_other_time_decline() -> None:
    suggestions = suggest_replies(MEETING_EN, "friendly")
    assert [s.id for s in suggestions] == [
        "meeting-accept",
        "meeting-other-time",
        "meeting-decline",
    ]
    assert suggestions[0].text == (
        "Hi Tom,\n\nThursday at 3 pm works for me, see you then!\n\nBest wishes"
    )
    assert "[another time]" in suggestions[1].text
    assert all(s.language == "en" and s.tone == "friendly" for s in suggestions)


def test_german_meeting_request_formal_uses_sie() -> None:
    formal = texts(MEETING_DE, "formal")
    assert formal[0] == (
        "Guten Tag Max Mustermann,\n\nDonnerstag um 15 Uhr passt mir gut. Ich freue mich auf "
        "unser Gespräch.\n\nMit freundlichen Grüßen"
    )
    assert "Ihnen" in formal[1] and " dir" not in formal[1]


def test_german_informal_uses_du() -> None:
    informal = texts(MEETING_DE, "informal")
    assert informal[0].startswith("Hi Max,\n\nDonnerstag um 15 Uhr passt mir gut")
    assert "bei dir" in informal[1] and "Ihnen" not in " ".join(informal)


def test_meeting_request_without_a_time_asks_for_one() -> None:
    fields: MessageFields = {"body": "Shall we set up a call about the roadmap?", "date": WRITTEN}
    suggestions = suggest_replies(fields, "business")
    assert [s.id for s in suggestions] == ["meeting-propose", "meeting-ask-time", "meeting-decline"]
    assert suggestions[0].text.startswith("Hello,\n\n")


def test_question_gets_answer_placeholder_acknowledgement_and_clarification() -> None:
    suggestions = suggest_replies(QUESTION_DE_SIE, "business")
    assert [s.id for s in suggestions] == [
        "question-answer",
        "question-acknowledge",
        "question-clarify",
    ]
    assert suggestions[0].text == (
        "Hallo Lisa Weber,\n\nZu Ihrer Frage „Können Sie mir sagen, ob die Zahlen für November "
        "schon final sind?“: [Ihre Antwort]\n\nBeste Grüße"
    )
    assert all(s.language == "de" for s in suggestions)


def test_friendly_german_mirrors_the_mails_sie() -> None:
    assert "Ihrer Frage" in texts(QUESTION_DE_SIE, "friendly")[0]
    du_mail: MessageFields = {**QUESTION_DE_SIE, "body": "Hast du die Zahlen schon?"}
    assert "deiner Frage" in texts(du_mail, "friendly")[0]


def test_thanks_gets_you_are_welcome() -> None:
    fields: MessageFields = {"body": "Thank you so much for your help yesterday!",
                             "sender_name": "Kim"}  # fmt: skip
    (first, second) = suggest_replies(fields, "informal")
    assert first.text == "Hey Kim,\n\nYou're welcome, glad I could help!\n\nCheers"
    assert second.id == "thanks-anything-else"


def test_confirmation_request() -> None:
    fields: MessageFields = {"body": "Please confirm that the order can ship on Monday."}
    suggestions = suggest_replies(fields, "formal")
    assert suggestions[0].text == (
        "Dear Sir or Madam,\n\nI hereby confirm: that works for me.\n\nKind regards"
    )
    german: MessageFields = {"body": "Können Sie mir den Liefertermin bitte bestätigen?"}
    assert texts(german, "business")[0].endswith(
        "Hiermit bestätige ich: Das passt so.\n\nBeste Grüße"
    )


def test_plain_information_gets_acknowledgements() -> None:
    fields: MessageFields = {"body": "FYI: the office is closed on 24 December."}
    assert [s.id for s in suggest_replies(fields, "business")] == ["info-thanks", "info-noted"]


def test_language_override_and_detection() -> None:
    assert all(s.language == "de" for s in suggest_replies(MEETING_EN, "business", "de"))
    assert suggest_replies(MEETING_DE, "business")[0].language == "de"


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("fields", [MEETING_EN, MEETING_DE, QUESTION_DE_SIE])
def test_every_tone_gives_at_most_three_distinct_replies(tone: Tone, fields: MessageFields) -> None:
    suggestions = suggest_replies(fields, tone)
    assert 1 <= len(suggestions) <= 3
    assert (
        len({s.id for s in suggestions}) == len({s.text for s in suggestions}) == len(suggestions)
    )
    assert all(s.tone == tone for s in suggestions)


def test_detect_intent_prefers_a_proposal_with_a_time() -> None:
    intent = detect_intent(
        "Meeting next week", "Could we meet on Thursday at 3 pm? Friday is also possible.", WRITTEN
    )
    assert intent.kind == "meeting"
    assert intent.proposed is not None and intent.proposed.text == "on Thursday at 3 pm"


@given(st.text(max_size=500), st.text(max_size=80), st.sampled_from(TONES))
def test_any_mail_gets_at_most_three_suggestions(body: str, name: str, tone: Tone) -> None:
    suggestions = suggest_replies({"body": body, "sender_name": name, "date": WRITTEN}, tone)
    assert 1 <= len(suggestions) <= 3
    assert all(s.language in ("en", "de") for s in suggestions)
