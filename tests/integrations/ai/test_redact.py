"""Masking personal data before text leaves the server."""

from __future__ import annotations

import pytest

from mailmind.integrations.ai.redact import MailText, iban_valid, luhn_valid, mail_payload, redact


@pytest.mark.parametrize(
    "text",
    [
        "ada.lovelace@example.com",
        "bob+invoices@mail.sub.example.de",
        "jürgen@müller.example.org",
    ],
)
def test_email_addresses(text: str):
    masked = redact(f"Write to {text} today.")
    assert masked.text == "Write to [EMAIL] today."
    assert masked.counts == {"email": 1}


@pytest.mark.parametrize(
    "number",
    [
        "+49 30 1234567",
        "+49 (0)30 123 456-78",
        "0049-171-1234567",
        "+1 415.555.2671",
        "+44 20 7946 0958",
        "030 1234567",
        "(030) 123 456 78",
        "0171/1234567",
        "089-12345-678",
    ],
)
def test_phone_numbers(number: str):
    masked = redact(f"Ruf mich an unter {number}, danke.")
    assert masked.text == "Ruf mich an unter [PHONE], danke."
    assert masked.counts == {"phone": 1}


@pytest.mark.parametrize(
    "iban", ["DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "GB82 WEST 1234 5698 7654 32"]
)
def test_valid_ibans(iban: str):
    masked = redact(f"IBAN: {iban} BIC COBADEFFXXX")
    assert masked.text == "IBAN: [IBAN] BIC COBADEFFXXX"
    assert masked.counts == {"iban": 1}


def test_iban_with_wrong_check_digits_is_kept():
    assert not iban_valid("DE88 3704 0044 0532 0130 00")
    assert "DE88 3704" in redact("IBAN DE88 3704 1144 1532 1130 11").text


@pytest.mark.parametrize("card", ["4111 1111 1111 1111", "5500-0055-5555-5559", "378282246310005"])
def test_card_numbers_passing_luhn(card: str):
    masked = redact(f"Card {card} exp 12/27")
    assert masked.text == "Card [CARD] exp 12/27"
    assert masked.counts == {"card": 1}


def test_numbers_failing_luhn_are_kept():
    assert not luhn_valid("4111111111111112")
    assert redact("Ref 4111 1111 1111 1112").text == "Ref 4111 1111 1111 1112"


@pytest.mark.parametrize(
    "text",
    [
        "Meeting on 2024-06-01 at 09:30, or 01.06.2024",
        "Order 12345, total 1.234,56 EUR, version 1.2.3",
        "Invoice 2024/0001 amount 0,50",
        "Call me at 3 pm",
    ],
)
def test_ordinary_numbers_are_kept(text: str):
    assert redact(text).text == text


def test_payload_holds_subject_sender_domain_and_cut_body_only():
    body = "Hi, my number is +49 171 2345678 and my IBAN DE89 3704 0044 0532 0130 00. " + (
        "x" * 2000
    )
    payload = mail_payload(
        [MailText("Invoice for ada@example.com", "Ada Lovelace", "ada@example.com", body)],
        max_chars=500,
    )
    (item,) = payload["messages"]
    assert set(item) == {"subject", "sender", "body"}
    assert item["subject"] == "Invoice for [EMAIL]"
    assert item["sender"] == "Ada Lovelace (example.com)"
    assert len(item["body"]) == 500
    assert "[PHONE]" in item["body"] and "[IBAN]" in item["body"]
    assert payload["truncated"] is True
    assert payload["redacted"] == {"phone": 1, "iban": 1, "email": 1}


def test_thread_payload_shares_the_budget_oldest_first():
    mails = [MailText(f"S{i}", "A", "a@example.com", "y" * 3000) for i in range(4)]
    payload = mail_payload(mails, max_chars=2000)
    assert [m["subject"] for m in payload["messages"]] == ["S0", "S1", "S2", "S3"]
    assert sum(len(m["body"]) for m in payload["messages"]) == 2000


def test_redaction_can_be_switched_off():
    payload = mail_payload(
        [MailText("Hi", "Ada", "ada@example.com", "call +49 30 1234567")],
        max_chars=1000,
        redact_pii=False,
    )
    assert payload["messages"][0]["body"] == "call +49 30 1234567"
    assert payload["messages"][0]["sender"] == "Ada <ada@example.com>"
