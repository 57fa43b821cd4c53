"""The pipeline job for ingested mail: results, decision log, status, events, idempotence."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import orjson
from sqlalchemy import func, select

from mailmind.models import AIDecision, AIResult, MessageChunk, MessageTag
from mailmind.pipeline.runner import process_batch
from mailmind.realtime.publish import CHANNEL
from mailmind.runtime import Runtime
from tests.conftest import drain_jobs
from tests.pipeline.helpers import ingest, mail, make_account, make_folder, message, results_of

LONG_BODY = (
    "Hi Bob,\n\nCould you send me the signed contract by Friday? The client needs it before "
    "the board meeting next week, and we still have to agree on the delivery schedule. "
) * 12


async def test_ingested_mail_gets_every_result_with_its_decision(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    (mid,) = await ingest(runtime, account, inbox, [mail("Contract for the client", LONG_BODY)])
    assert (await message(runtime, mid)).ai_status == "pending"

    await drain_jobs(runtime)

    stored = await message(runtime, mid)
    assert stored.ai_status == "done"
    results = await results_of(runtime, mid)
    assert {"classify", "priority", "tags", "summary"} <= set(results)
    assert stored.category == results["classify"].output["category"]
    assert stored.category_confidence == results["classify"].confidence
    assert stored.needs_review == (results["classify"].confidence < 0.7)
    assert stored.priority == results["priority"].output["score"]
    async with runtime.db.session() as session:
        decisions = (
            await session.scalars(select(AIDecision).where(AIDecision.message_id == mid))
        ).all()
        for feature, result in results.items():
            (decision,) = [d for d in decisions if d.feature == feature]
            assert result.decision_id == decision.id
            assert decision.output == result.output
            assert len(decision.input_hash) == 64 and decision.prompt_version
            assert decision.provider == "local" and decision.remote is False
        classify = next(d for d in decisions if d.feature == "classify")
        assert classify.reasons and classify.confidence is not None
        chunks = await session.scalar(
            select(func.count()).select_from(MessageChunk).where(MessageChunk.message_id == mid)
        )
        assert chunks == 1  # AI_EMBED_PASSAGES: one passage per message by default


async def test_more_passages_per_message_when_configured(
    runtime: Runtime, monkeypatch: Any
) -> None:
    monkeypatch.setattr(runtime.settings, "ai_embed_passages", 3)
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    short, long = await ingest(
        runtime, account, inbox, [mail("Lunch", "Lunch on Friday?"), mail("Contract", LONG_BODY)]
    )
    await drain_jobs(runtime)
    async with runtime.db.session() as session:
        counts = dict(
            (
                await session.execute(
                    select(MessageChunk.message_id, func.count())
                    .where(MessageChunk.message_id.in_([short, long]))
                    .group_by(MessageChunk.message_id)
                )
            ).all()
        )
        texts = (
            await session.scalars(
                select(MessageChunk.text)
                .where(MessageChunk.message_id == long)
                .order_by(MessageChunk.chunk_index)
            )
        ).all()
    # The long body spans more than three 128-piece windows; the short one fits in one.
    assert counts == {short: 1, long: 3}
    assert texts[0].startswith("Contract") and all("contract" in t for t in texts)


async def test_processing_again_replaces_results_and_logs_new_decisions(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    (mid,) = await ingest(runtime, account, inbox, [mail("Contract for the client", LONG_BODY)])
    await drain_jobs(runtime)
    first = await results_of(runtime, mid)

    await process_batch(runtime, account_id=account.id, message_ids=[mid])

    again = await results_of(runtime, mid)
    assert set(again) == set(first)
    assert {f: r.id for f, r in again.items()} == {f: r.id for f, r in first.items()}
    assert all(again[f].decision_id != first[f].decision_id for f in first)
    assert again["classify"].output == first["classify"].output
    async with runtime.db.session() as session:
        per_feature = await session.execute(
            select(AIResult.feature, func.count())
            .where(AIResult.message_id == mid)
            .group_by(AIResult.feature)
        )
        assert all(n == 1 for _, n in per_feature)
        decisions = await session.scalar(
            select(func.count()).select_from(AIDecision).where(AIDecision.message_id == mid)
        )
        assert decisions == 2 * len(first)
        chunk_rows = (
            await session.scalars(
                select(MessageChunk.chunk_index).where(MessageChunk.message_id == mid)
            )
        ).all()
        assert sorted(chunk_rows) == list(range(len(chunk_rows)))


async def test_a_category_the_user_set_survives_processing_again(runtime, client) -> None:
    from tests.conftest import bearer, login

    user, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    (mid,) = await ingest(runtime, account, inbox, [mail("Contract for the client", LONG_BODY)])
    await drain_jobs(runtime)
    chosen = "personal" if (await message(runtime, mid)).category != "personal" else "work"
    token = (await login(client, user.email))["access_token"]
    response = await client.patch(
        f"/api/emails/{mid}", json={"category": chosen}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text

    await process_batch(runtime, account_id=account.id, message_ids=[mid])

    assert (await message(runtime, mid)).category == chosen


async def test_email_processed_is_published_after_the_commit(runtime: Runtime) -> None:
    user, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    (mid,) = await ingest(runtime, account, inbox, [mail("Lunch on Friday?", "Shall we meet?")])
    received: list[dict[str, Any]] = []
    ready = asyncio.Event()

    async def listen() -> None:
        stream = runtime.store.subscribe(CHANNEL)
        ready.set()
        async for _, raw in stream:
            event = orjson.loads(raw)
            if event["type"] == "email_processed":
                received.append(event)
                return

    listener = asyncio.create_task(listen())
    await ready.wait()
    await asyncio.sleep(0.2)  # the subscription is established by the first iteration
    await drain_jobs(runtime)
    await asyncio.wait_for(listener, 30)

    (event,) = received
    assert event["user_id"] == str(user.id)
    data = event["data"]
    assert set(data) == {
        "email_id",
        "classification",
        "confidence",
        "priority",
        "priority_band",
        "reasons",
        "tags",
        "summary",
        "action_items",
        "has_suggestions",
    }
    stored = await message(runtime, mid)
    assert data["email_id"] == str(mid)
    assert data["classification"] == stored.category
    assert data["priority"] == stored.priority and data["priority_band"] == stored.priority_band


async def test_spam_folder_gets_classification_only(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    spam = await make_folder(runtime, account, "Junk", "spam")
    (mid,) = await ingest(runtime, account, spam, [mail("You won!", "Claim your prize now. " * 80)])
    await drain_jobs(runtime)
    assert set(await results_of(runtime, mid)) == {"classify"}
    stored = await message(runtime, mid)
    assert stored.ai_status == "done" and stored.category == "spam" and stored.priority is None


async def test_imported_mail_gets_no_summary_or_suggestions(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    (mid,) = await ingest(
        runtime, account, inbox, [mail("Contract", LONG_BODY)], dedupe="message_id"
    )
    await drain_jobs(runtime)
    results = await results_of(runtime, mid)
    assert "classify" in results and "priority" in results
    assert "summary" not in results and "suggestions" not in results
    assert (await message(runtime, mid)).ai_status == "done"


async def test_sync_backfill_gets_no_summary(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    (old,) = await ingest(runtime, account, inbox, [mail("Contract", LONG_BODY)], backfill=True)
    await drain_jobs(runtime)
    assert "summary" not in await results_of(runtime, old)


async def test_account_switched_off_is_skipped(runtime: Runtime) -> None:
    _, account = await make_account(runtime, ai_enabled=False)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    (mid,) = await ingest(runtime, account, inbox, [mail("Hello", "Hi there")])
    await drain_jobs(runtime)
    stored = await message(runtime, mid)
    assert stored.ai_status == "skipped" and stored.category is None
    assert await results_of(runtime, mid) == {}


async def test_a_feature_switched_off_is_not_computed(runtime: Runtime) -> None:
    user, account = await make_account(runtime)
    async with runtime.db.session() as session:
        from mailmind.models import User

        row = await session.get(User, user.id)
        assert row is not None
        row.settings = {"ai": {"features": {"tags": {"enabled": False}}}}
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    (mid,) = await ingest(runtime, account, inbox, [mail("Contract", LONG_BODY)])
    await drain_jobs(runtime)
    results = await results_of(runtime, mid)
    assert "classify" in results and "tags" not in results
    assert (await message(runtime, mid)).ai_status == "done"


async def test_the_same_message_in_two_folders_copies_the_results(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    archive = await make_folder(runtime, account, "Archive", "archive")
    raw = mail("Contract for the client", LONG_BODY, mid="same-one")
    (first,) = await ingest(runtime, account, inbox, [raw])
    await drain_jobs(runtime)
    (second,) = await ingest(runtime, account, archive, [raw])
    outcome = await process_batch(runtime, account_id=account.id, message_ids=[second])
    assert outcome.copied == [second]
    await drain_jobs(runtime)  # the queued job copies again: still one result per feature

    one, two = await results_of(runtime, first), await results_of(runtime, second)
    assert set(one) == set(two)
    assert all(one[f].output == two[f].output for f in one)
    async with runtime.db.session() as session:
        hashes = dict(
            (
                await session.execute(
                    select(AIDecision.message_id, AIDecision.input_hash).where(
                        AIDecision.feature == "classify"
                    )
                )
            ).all()
        )
        assert hashes[first] == hashes[second]
        chunks = await session.scalar(
            select(func.count()).select_from(MessageChunk).where(MessageChunk.message_id == second)
        )
        assert chunks
        tags_one = set(
            await session.scalars(select(MessageTag.tag_id).where(MessageTag.message_id == first))
        )
        tags_two = set(
            await session.scalars(select(MessageTag.tag_id).where(MessageTag.message_id == second))
        )
        assert tags_one == tags_two
    copy = await message(runtime, second)
    assert copy.category == (await message(runtime, first)).category
    assert copy.ai_status == "done"


def test_input_hash_is_sha256_of_the_canonical_input() -> None:
    from mailmind.pipeline.base import input_hash

    payload = {"b": 1, "a": "x"}
    expected = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert input_hash(payload) == expected == input_hash({"a": "x", "b": 1})


async def test_results_drop_the_users_cached_search_results(runtime: Runtime) -> None:
    from mailmind.search.cache import _generation_key

    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    await ingest(runtime, account, inbox, [mail("Contract for the client", LONG_BODY)])
    before = await runtime.store.get(_generation_key(account.user_id))

    await drain_jobs(runtime)

    assert await runtime.store.get(_generation_key(account.user_id)) != before
