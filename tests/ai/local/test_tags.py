import numpy as np
import pytest

from mailmind.ai.local.tags import (
    MAX_TAGS,
    MIN_CONFIDENCE,
    clean_segment,
    key_phrases,
    suggest_tags,
    valid_path,
)

APOLLO = """Hi Tom,

the Apollo launch plan is attached. The Apollo budget review moved to Thursday, and the
quarterly report for Apollo needs the new budget figures. Please check the budget figures
before the review.

Best regards
Anna
"""
RECHNUNG = """Hallo Team,

die Rechnung Nr. 4711 für November ist fällig. Bitte überweist den Betrag bis Freitag.
Die Rechnung liegt im Anhang.

Viele Grüße
Lisa
"""
TAGS = ["Projects", "Projects/Apollo", "Projects/Hermes", "Finance", "Finance/Budget", "Personal"]


def paths(suggestions: list) -> list[str]:  # type: ignore[type-arg]
    return [s.path for s in suggestions]


def test_existing_tags_are_found_by_subject_and_key_phrases() -> None:
    found = suggest_tags(
        subject="Apollo launch plan and budget review", body=APOLLO, existing_tags=TAGS
    )
    assert paths(found) == ["Finance/Budget", "Projects/Apollo"]
    assert all(s.existing and s.confidence >= 0.9 for s in found)
    assert {s.why for s in found} == {"subject"}


def test_a_parent_is_not_suggested_next_to_its_child() -> None:
    found = suggest_tags(subject="Apollo", body=APOLLO, existing_tags=TAGS)
    assert "Projects" not in paths(found) and "Projects/Apollo" in paths(found)


def test_german_tags_match_inflected_words_and_the_sender_domain() -> None:
    found = suggest_tags(
        subject="Rechnung November",
        body=RECHNUNG,
        existing_tags=["Finanzen/Rechnungen", "Kunden/Acme", "Privat"],
        sender_address="buchhaltung@acme.de",
    )
    assert paths(found) == ["Finanzen/Rechnungen", "Kunden/Acme"]
    assert [s.why for s in found] == ["subject", "sender_domain"]


def test_a_single_mention_in_the_body_is_not_enough() -> None:
    body = "Hi,\n\nlunch on Friday? Hermes was mentioned once.\n\nCheers"
    assert suggest_tags(subject="Lunch", body=body, existing_tags=TAGS) == []


def test_new_tag_from_a_phrase_in_subject_and_body_when_nothing_fits() -> None:
    body = (
        "Hello,\n\nthe kitchen renovation starts next month. For the kitchen renovation we "
        "still need the tiles.\n\nRegards\nMia"
    )
    found = suggest_tags(subject="Kitchen renovation", body=body, existing_tags=TAGS)
    assert paths(found) == ["Kitchen renovation"]
    assert not found[0].existing and MIN_CONFIDENCE <= found[0].confidence < 0.9


def test_no_new_tag_from_weak_evidence_or_peoples_names() -> None:
    body = "Hi,\n\nMaria Lopez called about Maria Lopez's visit. Maria Lopez says hi.\n\nBye"
    found = suggest_tags(
        subject="Maria Lopez", body=body, existing_tags=[], exclude={"maria", "lopez"}
    )
    assert found == []
    assert suggest_tags(subject="Hi", body="Quick note about the garden.", existing_tags=[]) == []


def test_generic_words_never_become_tags() -> None:
    body = "Meeting update: the meeting moves. Meeting notes follow. Please reply to the meeting."
    assert suggest_tags(subject="Meeting update", body=body, existing_tags=[]) == []


def test_at_most_five_and_all_confident() -> None:
    words = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Theta"]
    existing = [f"Projects/{w}" for w in words]
    body = " ".join(f"The {w} project is late." for w in words)
    found = suggest_tags(subject=" ".join(words), body=body, existing_tags=existing)
    assert len(found) == MAX_TAGS
    assert all(s.confidence >= MIN_CONFIDENCE and valid_path(s.path) for s in found)


def test_embedding_similarity_finds_a_tag_without_shared_words() -> None:
    mail = np.array([0.6, 0.6, 0.0], dtype=np.float32)  # a mean of chunk vectors: not unit length
    vectors = {
        "Travel": np.array([1.0, 0.2, 0.0], dtype=np.float32) / np.hypot(1.0, 0.2),
        "Cooking": np.array([0.0, 0.0, 1.0], dtype=np.float32),
    }
    found = suggest_tags(
        subject="Your booking",
        body="Flight LH 123 to Berlin, seat 14C.",
        existing_tags=["Travel", "Cooking"],
        embedding=mail,
        tag_embeddings=vectors,
    )
    assert paths(found) == ["Travel"]
    assert found[0].why == "similar" and found[0].confidence > 0.85


def test_key_phrases_rank_subject_and_repeated_phrases_first() -> None:
    phrases = [p for p, _ in key_phrases(APOLLO, subject="Apollo launch plan")]
    assert phrases[0] == "Apollo launch plan"
    assert "budget figures" in phrases[:5]
    assert all(0 < s <= 1 for _, s in key_phrases(APOLLO))


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("Work", True),
        ("a/b/c/d/e", True),
        ("a/b/c/d/e/f", False),
        ("a//b", False),
        ("x" * 64, True),
        ("x" * 65, False),
        (" padded", False),
        ("", False),
    ],
)
def test_valid_path(path: str, ok: bool) -> None:
    assert valid_path(path) is ok


def test_clean_segment() -> None:
    assert clean_segment("  Q3 / Q4\treport ") == "Q3 Q4 report"
    assert clean_segment("/") is None
    assert len(clean_segment("y" * 100) or "") == 64
