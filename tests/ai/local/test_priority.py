import uuid
from datetime import timedelta

import pytest

from mailmind.ai.local.priority import BASE, band, score_priority
from tests.ai.local.mails import (
    CONTRACT_EN,
    FYI_CC,
    ME,
    NEWSLETTER,
    NEWSLETTER_HEADERS,
    VERTRAG_DE,
    WRITTEN,
    message,
    user,
)

SPEC_CODES = {
    "vip_sender", "known_correspondent", "direct_recipient", "cc_only", "question_asked",
    "deadline_soon", "urgent_wording", "active_thread", "mailing_list", "bulk_sender",
    "automated_sender", "user_override",
}  # fmt: skip


def codes(result: object) -> list[str]:
    return [r.code for r in result.reasons]  # type: ignore[attr-defined]


def test_question_with_deadline_from_a_known_correspondent_is_high() -> None:
    result = score_priority(
        message(CONTRACT_EN, subject="Contract"), user(sent_to={"anna@acme.com": 2})
    )
    assert codes(result) == [
        "known_correspondent",
        "direct_recipient",
        "question_asked",
        "deadline_soon",
    ]
    assert result.score == BASE + 10 + 10 + 10 + 20 == 80
    assert result.band == "high"
    deadline = next(r for r in result.reasons if r.code == "deadline_soon")
    assert deadline.text == "Deadline on 2026-12-04"


def test_german_request_until_tomorrow_has_german_reasons() -> None:
    result = score_priority(message(VERTRAG_DE), user(language="de"))
    assert codes(result) == ["direct_recipient", "question_asked", "deadline_soon"]
    assert [r.text for r in result.reasons] == [
        "Direkt an Sie gesendet",
        "Enthält eine Frage an Sie",
        "Frist am 02.12.2026",
    ]
    assert result.score == 70 and result.band == "high"


def test_newsletter_is_low_despite_urgent_marketing_words() -> None:
    result = score_priority(
        message(
            NEWSLETTER,
            subject="Winter sale",
            sender="news@shop.example",
            to=["list@shop.example"],
            headers=NEWSLETTER_HEADERS,
        ),
        user(),
    )
    # "urgent: only until Friday" is marketing, not the user's deadline.
    assert codes(result) == ["mailing_list", "bulk_sender"]
    assert result.score == BASE - 10 - 15 == 5
    assert result.band == "low"


def test_cc_only_information_is_low() -> None:
    result = score_priority(
        message(FYI_CC, sender="facility@acme.com", to=["all@acme.com"], cc=[ME]), user()
    )
    assert codes(result) == ["cc_only"]
    assert result.score == 20 and result.band == "low"


def test_vip_by_domain_and_urgent_german_wording() -> None:
    mail = message(
        "Hallo Bob,\n\ndas ist dringend: der Server ist ausgefallen.\n\nGruß\nChef",
        sender="boss@hq.acme.com",
    )
    result = score_priority(mail, user(vip={"@acme.com"}))
    assert codes(result) == ["vip_sender", "direct_recipient", "urgent_wording"]
    assert result.score == 85


def test_importance_header_counts_as_urgent() -> None:
    mail = message("Please review.", headers={"Importance": "High"})
    assert "urgent_wording" in codes(score_priority(mail, user()))


def test_active_thread_and_answered_sender() -> None:
    thread = uuid.uuid4()
    mail = message("Sounds good.", thread_id=thread)
    result = score_priority(mail, user(active_threads={thread}, answered_senders={"anna@acme.com"}))
    assert codes(result) == ["known_correspondent", "direct_recipient", "active_thread"]


def test_frequent_correspondent_weighs_more() -> None:
    few = score_priority(message("Ok."), user(sent_to={"anna@acme.com": 1}))
    many = score_priority(message("Ok."), user(sent_to={"anna@acme.com": 12}))
    assert many.score - few.score == 5
    assert many.reasons[0].text == "You often write to this sender"


def test_automated_noreply_sender() -> None:
    mail = message(
        "Your password was changed.",
        sender="no-reply@accounts.example",
        headers={"Auto-Submitted": "auto-generated"},
    )
    result = score_priority(mail, user())
    assert codes(result) == ["direct_recipient", "automated_sender"]
    assert result.score == 30


def test_bcc_personal_mail_counts_as_direct() -> None:
    result = score_priority(message("Hi, a quick note.", to=["someone@else.org"]), user())
    assert codes(result) == ["direct_recipient"]


def test_deadline_later_than_three_days_does_not_count() -> None:
    mail = message("Please send the report by 10.12.")
    assert "deadline_soon" not in codes(score_priority(mail, user()))
    past = message("We talked about it on 28.11.")
    assert "deadline_soon" not in codes(score_priority(past, user()))


def test_a_date_soon_without_deadline_weighs_less() -> None:
    result = score_priority(message("The workshop is tomorrow."), user())
    (reason,) = [r for r in result.reasons if r.code == "deadline_soon"]
    assert reason.weight == 10 and reason.text == "Mentions 2026-12-02"


def test_user_override_for_the_sender_wins_and_keeps_the_sum() -> None:
    result = score_priority(
        message(NEWSLETTER, sender="news@shop.example", headers=NEWSLETTER_HEADERS),
        user(priority_overrides={"news@shop.example": 90}),
    )
    assert result.score == 90 and result.band == "high"
    assert result.reasons[0].code == "user_override"
    assert BASE + sum(r.weight for r in result.reasons) == 90


def test_user_override_by_domain() -> None:
    result = score_priority(message("Hello"), user(priority_overrides={"@acme.com": 10}))
    assert (result.score, result.reasons[0].code) == (10, "user_override")


def test_mail_without_date_uses_now() -> None:
    mail = message("Can you do it by tomorrow?", date=None)
    result = score_priority(mail, user(), now=WRITTEN + timedelta(days=30))
    assert "deadline_soon" in codes(result)


@pytest.mark.parametrize(
    ("body", "kw"),
    [
        (CONTRACT_EN, {}),
        (VERTRAG_DE, {"cc": [ME], "to": ["x@y.z"]}),
        (NEWSLETTER, {"headers": NEWSLETTER_HEADERS}),
        (FYI_CC, {"sender": "noreply@acme.com"}),
        ("URGENT!!! asap sofort dringend? by EOD", {"sender": "vip@acme.com"}),
    ],
)
def test_reasons_use_spec_codes_and_add_up_to_the_score(body: str, kw: dict[str, object]) -> None:
    context = user(vip={"vip@acme.com"}, sent_to={"vip@acme.com": 9}, language="de")
    first = score_priority(message(body, **kw), context)  # type: ignore[arg-type]
    assert first.reasons and set(codes(first)) <= SPEC_CODES
    assert first.score == max(0, min(100, BASE + sum(r.weight for r in first.reasons)))
    assert first.band == band(first.score)
    again = score_priority(message(body, **kw), context)  # type: ignore[arg-type]
    assert again == first


def test_bands() -> None:
    assert [band(s) for s in (0, 39, 40, 69, 70, 100)] == [
        "low", "low", "medium", "medium", "high", "high",
    ]  # fmt: skip
