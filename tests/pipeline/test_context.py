"""What the steps know about a user: correspondents, tags, corrections, settings."""

from __future__ import annotations

from mailmind.models import AIFeedback, Message, Tag
from mailmind.pipeline.context import load_messages, load_user_context
from mailmind.runtime import Runtime
from tests.conftest import drain_jobs
from tests.pipeline.helpers import ingest, mail, make_account, make_folder


async def test_user_context_counts_sent_mail_and_reads_corrections(runtime: Runtime) -> None:
    user, account = await make_account(runtime)
    inbox = await make_folder(runtime, account, "INBOX", "inbox")
    sent = await make_folder(runtime, account, "Sent", "sent")
    await ingest(
        runtime,
        account,
        sent,
        [
            mail("Re: plans", "Sounds good", sender=account.email, to="ann@example.com"),
            mail("Dinner", "Friday?", sender=account.email, to="Ann <ANN@example.com>"),
            mail("Other", "Hi", sender=account.email, to="carl@example.com"),
        ],
    )
    (corrected, incoming) = await ingest(
        runtime,
        account,
        inbox,
        [mail("Seedlings", "Garden swap on Saturday"), mail("Hello", "Are you coming?")],
    )
    await drain_jobs(runtime)
    async with runtime.db.session() as session:
        session.add(Tag(user_id=user.id, path="Garden"))
        session.add(
            AIFeedback(
                user_id=user.id,
                message_id=corrected,
                feature="classify",
                old_value="personal",
                new_value={"category": "work"},
            )
        )
        session.add(
            AIFeedback(
                user_id=user.id,
                feature="priority",
                old_value=20,
                new_value=90,
                sender_address="Ann@Example.com",
            )
        )
        stored = await session.get(Message, incoming)
        assert stored is not None
        stored.is_answered = True
    async with runtime.db.session() as session:
        (loaded,) = await load_messages(session, [incoming], backfill=False)
        context = await load_user_context(session, runtime, user.id, [loaded.input])

    assert account.email in context.own_addresses and user.email in context.own_addresses
    assert context.sent_to == {"ann@example.com": 2}
    assert context.answered_senders == {"ann@example.com"}
    assert context.existing_tags == ["Garden"] or "Garden" in context.existing_tags
    assert context.priority_overrides == {"ann@example.com": 90}
