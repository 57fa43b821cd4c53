"""The local priority, tags, summary and suggestions steps: their StepResults and when they run."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from mailmind.pipeline.base import MessageInput, PipelineContext, StepResult, UserContext
from mailmind.pipeline.steps.priority import STEP as PRIORITY
from mailmind.pipeline.steps.suggestions import STEP as SUGGESTIONS
from mailmind.pipeline.steps.summary import STEP as SUMMARY
from mailmind.pipeline.steps.tags import STEP as TAGS
from mailmind.runtime import Runtime
from tests.ai.local.mails import CONTRACT_EN, NEWSLETTER, NEWSLETTER_HEADERS, message, user
from tests.conftest import drain_jobs
from tests.pipeline.helpers import ingest, mail, make_account, make_folder, results_of

LONG_EN = (
    "Hi Bob,\n\nthe quarterly infrastructure review is coming up and I collected the open "
    "points from the teams. The storage cluster is at 85 percent capacity and needs an "
    "expansion before January. The network team wants to replace the core switches during "
    "the maintenance window in the second week of December. Could you approve the budget for "
    "the storage expansion by Friday? The vendor offer expires at the end of the month. "
    "Please also review the attached capacity report before our meeting.\n\n"
) * 3 + "Best regards,\nAnna\n"


def context(runtime: Runtime, *messages: MessageInput, **user_kw: Any) -> PipelineContext:
    users: dict[Any, UserContext] = {}
    for m in messages:
        users[m.user_id] = user(user_id=m.user_id, **user_kw)
    return PipelineContext(runtime=runtime, users=users)


def sha256_of(payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)
    ).hexdigest()


async def test_priority_step_result_and_decision_fields(runtime: Runtime) -> None:
    mail_in = message(CONTRACT_EN, subject="Contract")
    ctx = context(runtime, mail_in, sent_to={"anna@acme.com": 3})
    (result,) = await PRIORITY.run(ctx, [mail_in])
    assert isinstance(result, StepResult)
    assert (result.feature, result.provider, result.model, result.remote, result.mode) == (
        "priority", "local", "mailmind-priority-v1", False, "local",
    )  # fmt: skip
    assert result.output["score"] == 80 and result.output["band"] == "high"
    assert result.reasons == result.output["reasons"]
    assert {r["code"] for r in result.reasons} >= {"question_asked", "deadline_soon"}
    assert result.prompt_version and len(result.input_hash) == 64

    from mailmind.pipeline.steps.priority import payload

    assert result.input_hash == sha256_of(payload(mail_in, ctx.user(mail_in)))
    changed = message(CONTRACT_EN + "\nOne more line.", subject="Contract")
    (other,) = await PRIORITY.run(context(runtime, changed), [changed])
    assert other.input_hash != result.input_hash


async def test_summary_step_only_for_long_new_text_and_not_backfill(runtime: Runtime) -> None:
    long_mail = message(LONG_EN, subject="Infrastructure review")
    short_mail = message(CONTRACT_EN)
    backfilled = message(LONG_EN, backfill=True)
    ctx = context(runtime, long_mail, short_mail, backfilled)
    (result,) = await SUMMARY.run(ctx, [long_mail, short_mail, backfilled])
    assert result.message_id == long_mail.id
    assert result.output["mode"] == "extractive" and result.model == "mailmind-summary-v1"
    assert result.output["summary"] and len(result.output["main_points"]) <= 5
    (item,) = result.output["action_items"][:1]
    assert item == {
        "text": "Could you approve the budget for the storage expansion by Friday?",
        "due_date": "2026-12-04",
        "owner": None,
        "done": False,
    }


async def test_suggestions_step_runs_after_high_priority_with_a_question(runtime: Runtime) -> None:
    asks = message(CONTRACT_EN, subject="Contract")
    informs = message("Hi Bob,\n\nthe contract is signed. Urgent: file it today.\n\nAnna")
    newsletter = message(NEWSLETTER, headers=NEWSLETTER_HEADERS)
    batch = [asks, informs, newsletter]
    ctx = context(runtime, *batch, vip={"@acme.com"})
    for r in await PRIORITY.run(ctx, batch):
        ctx.earlier[(r.message_id, r.feature)] = r
    assert ctx.earlier[(informs.id, "priority")].output["score"] >= 70  # high, but no question

    (result,) = await SUGGESTIONS.run(ctx, batch)
    assert result.message_id == asks.id and result.feature == "suggestions"
    suggestions = result.output["suggestions"]
    assert 1 <= len(suggestions) <= 3
    assert set(suggestions[0]) == {"id", "text", "tone", "language"}
    assert suggestions[0]["language"] == "en" and suggestions[0]["tone"] == "business"
    assert result.confidence is not None


async def test_suggestions_step_uses_the_users_tone(runtime: Runtime) -> None:
    asks = message(CONTRACT_EN)
    ctx = context(
        runtime, asks, vip={"@acme.com"}, ai={"features": {"suggestions": {"tone": "informal"}}}
    )
    for r in await PRIORITY.run(ctx, [asks]):
        ctx.earlier[(r.message_id, r.feature)] = r
    (result,) = await SUGGESTIONS.run(ctx, [asks])
    assert {s["tone"] for s in result.output["suggestions"]} == {"informal"}


async def test_tags_step_prefers_existing_tags_by_words(runtime: Runtime) -> None:
    mail_in = message(LONG_EN, subject="Storage expansion budget")
    ctx = context(
        runtime, mail_in, existing_tags=["Infrastructure/Storage", "Finance/Budget", "Family"]
    )
    (result,) = await TAGS.run(ctx, [mail_in])
    paths = [t["path"] for t in result.output["tags"]]
    # Both leaves are in the subject; "Infrastructure" also occurs in the body.
    assert paths[:2] == ["Infrastructure/Storage", "Finance/Budget"]
    assert "Family" not in paths and len(paths) <= 5
    assert all(t["confidence"] >= 0.6 for t in result.output["tags"])
    assert result.reasons[1] == {"path": "Finance/Budget", "existing": True, "matched": "subject"}


async def test_tags_step_matches_by_meaning_with_the_local_model(runtime: Runtime) -> None:
    from mailmind.integrations.ai.embeddings import get_embedder

    body = (
        "Dear customer,\n\nyour flight LH 2034 from Munich to Lisbon on 12 December departs at "
        "07:40 from terminal 2. Boarding starts 40 minutes before departure. Your seat is 14C "
        "and one checked bag is included.\n\nYour airline"
    )
    vector = (await get_embedder(runtime).embed([body]))[0]
    mail_in = message(body, subject="Your booking confirmation", embedding=vector * 0.9)
    ctx = context(runtime, mail_in, existing_tags=["Travel/Flights", "Cooking", "Finance/Taxes"])
    (result,) = await TAGS.run(ctx, [mail_in])
    assert [t["path"] for t in result.output["tags"]] == ["Travel/Flights"]
    assert result.reasons[0]["matched"] == "similar"


async def test_ingested_question_from_a_vip_gets_all_local_results(runtime: Runtime) -> None:
    owner, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    raw = mail(
        "Contract: urgent",
        "Hi Bob,\n\ncould you send me the signed contract by tomorrow? It is urgent.\n\nAnna",
        sender="anna@acme.com",
        to=account.email,
    )
    async with runtime.db.session() as session:
        from mailmind.models import User

        stored_user = await session.get(User, owner.id)
        assert stored_user is not None
        stored_user.settings = {**stored_user.settings, "vip_senders": ["@acme.com"]}
    (mid,) = await ingest(runtime, account, inbox, [raw])
    await drain_jobs(runtime)
    results = await results_of(runtime, mid)
    priority = results["priority"].output
    codes = [r["code"] for r in priority["reasons"]]
    assert codes == [
        "vip_sender", "direct_recipient", "question_asked", "deadline_soon", "urgent_wording",
    ]  # fmt: skip
    assert priority["score"] == 100 and priority["band"] == "high"
    assert "summary" not in results  # short mail: summaries on demand only
    assert len(results["suggestions"].output["suggestions"]) <= 3
