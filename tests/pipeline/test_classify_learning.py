"""The classifier's learned model of one user: what it learns from, what it never reads, and
that it is refitted when the user's corrections change."""

from __future__ import annotations

import uuid

import numpy as np

from mailmind.ai.local.classifier import Example, ModelCache, UserModel, meta_tokens
from mailmind.models import AIFeedback
from mailmind.pipeline.base import MessageInput, PipelineContext, UserContext
from mailmind.pipeline.steps import classify
from mailmind.pipeline.steps.classify import (
    CATEGORIES,
    SEEDS,
    classify_local,
    learn,
    learned_probabilities,
    mail_features,
)
from mailmind.runtime import Runtime
from tests.conftest import drain_jobs
from tests.pipeline.helpers import ingest, mail, make_account, make_folder, message

DIMENSIONS = 16


def fake_seeds() -> dict[str, np.ndarray]:
    """Unit vectors per seed sentence: the content part of these tests is the text."""
    rng = np.random.default_rng(1)
    seeds = {}
    for category in CATEGORIES:
        vectors = rng.normal(size=(len(SEEDS[category]), DIMENSIONS))
        seeds[category] = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(
            np.float32
        )
    return seeds


def message_input(
    subject: str,
    body: str,
    *,
    sender: str = "ann@example.com",
    headers: dict[str, str] | None = None,
    user_id: uuid.UUID | None = None,
) -> MessageInput:
    owner = user_id or uuid.uuid4()
    return MessageInput(
        id=uuid.uuid4(),
        user_id=owner,
        account_id=owner,
        thread_id=None,
        folder_role="inbox",
        subject=subject,
        sender_name="",
        sender_address=sender,
        to=[],
        cc=[],
        headers=headers or {},
        body_text=body,
        body_new_text=body,
        date=None,
        language="simple",
        has_attachments=False,
        backfill=False,
    )


# Offers the user calls spam, each worded differently; none near-copies another.
SPAM_OFFERS = [
    ("Refinance your mortgage today", "Lowest mortgage rates guaranteed, refinance now and save."),
    ("Mortgage rates dropped", "Our lenders compete for your mortgage, approval in minutes."),
    ("Approved: home loan", "You are pre-approved for a home loan at a record low rate."),
    ("Save on your mortgage", "Refinance with our lenders, no fees, rates from 2.9 percent."),
    ("Lower monthly payments", "Cut your mortgage payment in half, lenders are waiting."),
]
# Mail the user keeps, also worded differently each time.
KEPT = [
    ("Build failure on main", "The nightly build failed in the parser tests, see the log."),
    ("Patch for the parser", "Attached is a patch that fixes the crash in the header parser."),
    ("Release notes draft", "Please review the release notes draft before the tag."),
    ("Re: parser crash", "I can reproduce the crash with the attached mailbox file."),
    ("Code review", "Left some comments on your change to the tokenizer, looks good."),
]


def corrections() -> list[Example]:
    return [Example(mail_features(message_input(s, b)), "spam", s) for s, b in SPAM_OFFERS] + [
        Example(mail_features(message_input(s, b)), "work", s) for s, b in KEPT
    ]


def test_corrections_teach_the_model_beyond_near_copies() -> None:
    seeds = fake_seeds()
    model = learn(corrections(), seeds, DIMENSIONS)
    assert model is not None and model.corrections == len(SPAM_OFFERS) + len(KEPT)
    offer = message_input(
        "Your mortgage approval is waiting", "Lenders cut rates again: refinance your mortgage."
    )
    kept = message_input("Parser tests", "The parser crash is fixed on main, the build passed.")
    spam_index, work_index = CATEGORIES.index("spam"), CATEGORIES.index("work")
    learned_offer = learned_probabilities(offer, model)
    learned_kept = learned_probabilities(kept, model)
    assert learned_offer[spam_index] > learned_kept[spam_index]
    assert int(np.argmax(learned_offer)) == spam_index
    assert int(np.argmax(learned_kept)) == work_index

    user = UserContext(user_id=offer.user_id)
    assert classify_local(offer, user, seeds, model).category == "spam"
    assert classify_local(offer, user, seeds).category != "spam"  # without the corrections
    assert classify_local(kept, user, seeds, model).category == "work"


def test_mail_kept_as_classified_balances_spam_only_corrections() -> None:
    seeds = fake_seeds()
    spam_only = [Example(mail_features(message_input(s, b)), "spam", s) for s, b in SPAM_OFFERS]
    kept = [Example(mail_features(message_input(s, b)), "work", "") for s, b in KEPT]
    model = learn(spam_only, seeds, DIMENSIONS, kept)
    assert model is not None and model.corrections == len(SPAM_OFFERS)
    user = UserContext(user_id=uuid.uuid4())
    ordinary = message_input("Parser tests", "The parser crash is fixed on main, the build passed.")
    offer = message_input(
        "Your mortgage approval is waiting", "Lenders cut rates again: refinance your mortgage."
    )
    assert classify_local(ordinary, user, seeds, model).category != "spam"
    assert classify_local(offer, user, seeds, model).category == "spam"


def test_no_corrections_no_model() -> None:
    assert learn([], fake_seeds(), DIMENSIONS) is None


ROUTING = {
    "Received": "from mx.spam-relay.example (mx.spam-relay.example [203.0.113.9]) by mail",
    "Delivered-To": "bob@example.com",
    "Return-Path": "<bounce@spam-relay.example>",
    "X-Spam-Status": "Yes, score=14.2",
    "X-Spam-Flag": "YES",
    "X-Spam-Level": "**************",
    "Date": "Tue, 03 Sep 2002 10:00:00 +0000",
    "Content-Disposition": 'attachment; filename="offer-2002-09-03.pdf"',
}


def test_the_model_never_reads_routing_spam_or_date_headers() -> None:
    seeds = fake_seeds()
    model = learn(corrections(), seeds, DIMENSIONS)
    assert model is not None
    plain = message_input("Mortgage news", "Refinance your mortgage with our lenders.")
    routed = message_input(
        "Mortgage news", "Refinance your mortgage with our lenders.", headers=ROUTING
    )
    assert meta_tokens(mail_features(routed)) == meta_tokens(mail_features(plain))
    assert np.array_equal(learned_probabilities(routed, model), learned_probabilities(plain, model))
    # A header that is a feature does change the model's answer: the comparison above can fail.
    listed = message_input(
        "Mortgage news",
        "Refinance your mortgage with our lenders.",
        headers={"List-Id": "<offers.lists.example>"},
    )
    assert not np.array_equal(
        learned_probabilities(listed, model), learned_probabilities(plain, model)
    )


def test_digits_and_dates_in_the_text_are_folded() -> None:
    seeds = fake_seeds()
    model = learn(corrections(), seeds, DIMENSIONS)
    assert model is not None
    one = message_input("Invoice 2002-09-03", "Payment of 1234 due on 03.09.2002.")
    other = message_input("Invoice 2026-11-27", "Payment of 9876 due on 27.11.2026.")
    assert np.allclose(learned_probabilities(one, model), learned_probabilities(other, model))


def test_model_cache_refits_when_the_key_changes() -> None:
    cache = ModelCache(size=2)
    seeds = fake_seeds()
    model = learn(corrections(), seeds, DIMENSIONS)
    alice, bob, carol = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    cache.put(alice, (10, "t1"), model)
    assert cache.get(alice, (10, "t1")) == (True, model)
    assert cache.get(alice, (11, "t2")) == (False, None)  # a new correction
    assert cache.get(bob, (10, "t1")) == (False, None)  # per user
    cache.put(bob, (0, None), None)
    cache.put(carol, (0, None), None)
    assert cache.get(alice, (10, "t1")) == (False, None)  # least recently used, dropped


async def test_corrections_made_elsewhere_refit_the_model_on_the_next_batch(
    runtime: Runtime,
) -> None:
    """The key is read from the database per batch: a correction stored by another process
    (here: directly) is used on the next batch although this process cached a model."""
    alice, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    ids = await ingest(
        runtime,
        account,
        inbox,
        [mail(subject, body, sender=f"offers{i}@loans.example") for i, (subject, body) in
         enumerate(SPAM_OFFERS)],
    )  # fmt: skip
    await drain_jobs(runtime)
    ctx = PipelineContext(runtime=runtime, users={})
    embedder = classify.get_embedder(runtime)
    seeds = await classify.seed_vectors(embedder)
    first, first_key = await classify.user_model(ctx, alice.id, seeds, embedder)
    assert first is None and first_key[1] == 0

    async with runtime.db.session() as session:
        for mid in ids:
            session.add(
                AIFeedback(
                    user_id=alice.id,
                    message_id=mid,
                    feature="classify",
                    old_value=(await message(runtime, mid)).category,
                    new_value={"category": "spam"},
                )
            )
    second, second_key = await classify.user_model(ctx, alice.id, seeds, embedder)
    assert second is not None and second.corrections == len(SPAM_OFFERS)
    assert second_key != first_key
    assert set(second.example_categories) == {"spam"}
    # Another user's model is untouched by Alice's corrections.
    bob, _ = await make_account(runtime)
    other, _ = await classify.user_model(ctx, bob.id, seeds, embedder)
    assert other is None


# A shop's newsletters share the words of the offers a user marks as spam.
SHOP_WORDS = ["offer", "save", "today", "deal", "price", "order", "free", "shipping"]
SPAM_WORDS = ["lenders", "mortgage", "refinance", "approved", "loan", "rates", "cash", "winner"]
SHOP_OWN_WORDS = ["members", "store", "week", "collection", "newsletter", "garden"]
WORK_WORDS = ["parser", "build", "release", "review", "patch", "tests", "branch", "tokenizer"]


def worded(words: list[str], i: int) -> tuple[str, str]:
    """A subject and body of five of ``words``, differently chosen and ordered for each ``i``."""
    rng = np.random.default_rng(i)
    picked = [str(w) for w in rng.choice(words, size=5, replace=False)]
    return " ".join(picked[:3]).capitalize(), " ".join(picked) + "."


def spam_offer(i: int) -> MessageInput:
    subject, body = worded([*SPAM_WORDS, *SHOP_WORDS], i)
    return message_input(subject, body, sender=f"offers{i}@loans{i}.example")


def shop_newsletter(i: int) -> MessageInput:
    """Four words of the offers and one of the shop's own."""
    rng = np.random.default_rng(1000 + i)
    words = [str(w) for w in rng.choice(SHOP_WORDS, size=4, replace=False)]
    words.append(str(rng.choice(SHOP_OWN_WORDS)))
    rng.shuffle(words)
    return message_input(
        " ".join(words[:3]).capitalize(), " ".join(words) + ".", sender="news@shop.example"
    )


def work_mail(i: int) -> MessageInput:
    subject, body = worded(WORK_WORDS, 2000 + i)
    return message_input(subject, body, sender=f"dev{i % 7}@example.org")


def test_spam_corrections_do_not_drag_kept_newsletters_into_spam() -> None:
    """The realistic user: corrects 100 offers the classifier missed and keeps the rest of the
    recent mail (400 work mails, 40 newsletters of a shop, 10 offers it caught). Weighted as
    they come, 100 corrections against kept mail at a third of their weight send several of the
    shop's next newsletters to spam; weighted by spam's share of that mail, hardly any, and the
    offers are still caught."""
    seeds = fake_seeds()
    corrected = [Example(mail_features(spam_offer(i)), "spam", f"offer {i}") for i in range(100)]
    kept = (
        [Example(mail_features(work_mail(i)), "work") for i in range(400)]
        + [Example(mail_features(shop_newsletter(i)), "newsletter") for i in range(40)]
        + [Example(mail_features(spam_offer(500 + i)), "spam") for i in range(10)]
    )
    # Every message of the user was loaded: the share is 110 spam of 550.
    share = classify.recent_spam_share(
        [("spam", 1000.0 + i) for i in range(len(corrected))],
        [(k.category, float(i)) for i, k in enumerate(kept)],
        corrected_complete=True,
        kept_complete=True,
    )
    assert share == (110 + 1) / (550 + 2)

    def in_spam(model: UserModel | None, mails: list[MessageInput]) -> int:
        user = UserContext(user_id=uuid.uuid4())
        return sum(classify_local(m, user, seeds, model).category == "spam" for m in mails)

    newsletters = [shop_newsletter(i) for i in range(100, 140)]
    offers = [spam_offer(i) for i in range(900, 940)]
    unweighted = learn(corrected, seeds, DIMENSIONS, kept)
    assert in_spam(unweighted, newsletters) >= 5  # the defect the weighting removes

    model = learn(corrected, seeds, DIMENSIONS, kept, share)
    assert in_spam(model, newsletters) <= 2
    assert in_spam(model, [work_mail(i) for i in range(100, 140)]) == 0
    assert in_spam(model, offers) >= 38


def test_recent_spam_share_counts_only_the_window_every_message_of_which_was_loaded() -> None:
    # Kept: the newest 4 of more (the limit cut them off), times 10..13; corrections at times
    # 1..12. Before time 10 only corrections were loaded, so they do not count: in the window
    # (times 10..13) there are 4 kept (1 spam) and 3 corrections (2 spam).
    kept = [("work", 13.0), ("spam", 12.0), ("newsletter", 11.0), ("work", 10.0)]
    corrected = [("spam", 12.0), ("spam", 11.0), ("personal", 10.0)] + [
        ("spam", float(t)) for t in range(1, 10)
    ]
    share = classify.recent_spam_share(
        corrected, kept, corrected_complete=True, kept_complete=False
    )
    assert share == (3 + 1) / (7 + 2)
    # Every kept message loaded: every correction counts.
    everything = classify.recent_spam_share(
        corrected, kept, corrected_complete=True, kept_complete=True
    )
    assert everything == (12 + 1) / (16 + 2)
