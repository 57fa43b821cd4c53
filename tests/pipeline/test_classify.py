"""Classification: header signals, content, and learning from one user's corrections."""

from __future__ import annotations

from sqlalchemy import select

from mailmind.models import AIDecision, AIFeedback
from mailmind.runtime import Runtime
from tests.conftest import drain_jobs
from tests.pipeline.helpers import ingest, mail, make_account, make_folder, message, results_of

GARDEN = (
    "Hello neighbours, the seedling swap of the allotment garden is this Saturday at ten. "
    "Bring spare tomato and courgette plants, pots and a thermos; we will share the compost "
    "rota for the spring after the swap."
)


async def test_list_headers_make_a_newsletter(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    (mid,) = await ingest(
        runtime,
        account,
        inbox,
        [
            mail(
                "The Friday digest",
                "Our picks of the week: three essays on city planning and a new podcast.",
                sender="editor@digest.example",
                headers={
                    "List-Id": "The Digest <digest.lists.example>",
                    "List-Unsubscribe": "<https://digest.example/unsubscribe>",
                },
            )
        ],
    )
    await drain_jobs(runtime)
    stored = await message(runtime, mid)
    assert stored.category == "newsletter"
    assert stored.category_confidence is not None and stored.category_confidence >= 0.7
    assert not stored.needs_review
    reasons = (await results_of(runtime, mid))["classify"].output["reasons"]
    assert "header:list-unsubscribe" in reasons and "header:list-id" in reasons


async def test_list_mail_with_sale_wording_is_a_promotion(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    (mid,) = await ingest(
        runtime,
        account,
        inbox,
        [
            mail(
                "Weekend sale: 40% off all jackets",
                "Shop now, the discount ends Sunday.",
                sender="news@shop.example",
                headers={"List-Unsubscribe": "<mailto:unsub@shop.example>"},
            )
        ],
    )
    await drain_jobs(runtime)
    assert (await message(runtime, mid)).category == "promotions"


async def test_automated_senders_are_notifications(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    ids = await ingest(
        runtime,
        account,
        inbox,
        [
            mail(
                "Your build finished",
                "Pipeline #381 passed in 4 minutes.",
                sender="builds@ci.example",
                headers={"Auto-Submitted": "auto-generated"},
            ),
            mail(
                "Your parcel is on its way",
                "Track your delivery with the link below.",
                sender="no-reply@parcels.example",
            ),
        ],
    )
    await drain_jobs(runtime)
    auto, noreply = [await message(runtime, mid) for mid in ids]
    assert auto.category == "notification" and noreply.category == "notification"
    reasons = (await results_of(runtime, ids[0]))["classify"].output["reasons"]
    assert "header:auto-submitted" in reasons


async def test_spam_flag_header_means_spam(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    (mid,) = await ingest(
        runtime,
        account,
        inbox,
        [mail("Meeting notes", "See you tomorrow.", headers={"X-Spam-Flag": "YES"})],
    )
    await drain_jobs(runtime)
    assert (await message(runtime, mid)).category == "spam"


async def test_german_content_is_classified_without_headers(runtime: Runtime) -> None:
    _, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    (mid,) = await ingest(
        runtime,
        account,
        inbox,
        [
            mail(
                "Quartalsbericht und Termin",
                "Bitte prüfen Sie den Quartalsbericht und das Budget vor unserer "
                "Besprechung mit dem Kunden am Montag.",
                sender="kollegin@firma.example",
            )
        ],
    )
    await drain_jobs(runtime)
    assert (await message(runtime, mid)).category == "work"


async def test_a_correction_changes_the_next_similar_mail_of_that_user_only(
    runtime: Runtime,
) -> None:
    alice, alice_account = await make_account(runtime)
    _, bob_account = await make_account(runtime)
    alice_inbox = await make_folder(runtime, alice_account, "INBOX", "inbox")
    bob_inbox = await make_folder(runtime, bob_account, "INBOX", "inbox")
    (corrected,) = await ingest(
        runtime,
        alice_account,
        alice_inbox,
        [mail("Seedling swap", GARDEN, sender="g@club.example")],
    )
    await drain_jobs(runtime)
    before = (await message(runtime, corrected)).category
    assert before != "work"

    # What the mail API records when Alice moves the message to "work".
    async with runtime.db.session() as session:
        session.add(
            AIFeedback(
                user_id=alice.id,
                message_id=corrected,
                feature="classify",
                old_value=before,
                new_value="work",
                sender_address="g@club.example",
            )
        )

    later = GARDEN.replace("this Saturday at ten", "next Saturday at eleven")
    (alice_next,) = await ingest(
        runtime, alice_account, alice_inbox, [mail("Seedling swap, part two", later)]
    )
    (bob_next,) = await ingest(
        runtime, bob_account, bob_inbox, [mail("Seedling swap, part two", later)]
    )
    await drain_jobs(runtime)

    assert (await message(runtime, alice_next)).category == "work"
    reasons = (await results_of(runtime, alice_next))["classify"].output["reasons"]
    assert any(
        r.startswith("similar to your correction of") and "Seedling swap" in r for r in reasons
    )
    assert (await message(runtime, bob_next)).category == before
    # The corrected message itself keeps its own record; nothing else was reprocessed.
    async with runtime.db.session() as session:
        count = len(
            (
                await session.scalars(
                    select(AIDecision.id).where(
                        AIDecision.message_id == corrected, AIDecision.feature == "classify"
                    )
                )
            ).all()
        )
    assert count == 1
