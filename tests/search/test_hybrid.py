"""Reciprocal rank fusion of the keyword and the semantic list (PRODUCT_SPEC §2.6)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from mailmind.search.hybrid import PARTIAL_KEYWORD_WEIGHT, RRF_K, fuse
from mailmind.search.keyword import KeywordHit
from mailmind.search.semantic import SemanticHit

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OLD = datetime(2000, 1, 1, tzinfo=UTC)  # no recency share left


def _ids(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


def _kw(message_id: uuid.UUID, *, complete: bool = True, key: str | None = None) -> KeywordHit:
    return KeywordHit(message_id, 1.5 if complete else 0.5, OLD, key, complete=complete)


def _sem(message_id: uuid.UUID, *, key: str | None = None) -> SemanticHit:
    return SemanticHit(message_id, 0.6, OLD, key, passage="text")


def test_a_message_both_lists_found_outranks_the_top_of_either():
    a, b, both = _ids(3)
    fused = fuse([_kw(a), _kw(both)], [_sem(b), _sem(both)], now=NOW)
    assert fused[0].message_id == both and fused[0].matched == "both"
    assert {f.message_id for f in fused[1:]} == {a, b}


def test_a_keyword_hit_with_only_some_words_counts_half():
    complete, partial, meant = _ids(3)
    # Top of the keyword list with every word: as strong as the top of the semantic list.
    fused = fuse([_kw(complete)], [_sem(meant)], now=NOW)
    assert fused[0].score == fused[1].score == 1 / (RRF_K + 1)
    # Top of the keyword list with some of the words: below the top of the semantic list.
    fused = fuse([_kw(partial, complete=False)], [_sem(meant)], now=NOW)
    assert [f.message_id for f in fused] == [meant, partial]
    assert fused[1].score == PARTIAL_KEYWORD_WEIGHT / (RRF_K + 1)


def test_copies_of_one_message_are_fused_once():
    a, copy = _ids(2)
    fused = fuse([_kw(a, key="<m@x>")], [_sem(copy, key="<m@x>")], now=NOW)
    assert len(fused) == 1
