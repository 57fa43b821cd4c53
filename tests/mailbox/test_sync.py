"""The sync engine against a real Dovecot: nothing lost, nothing twice, server wins."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from mailmind.account import tokens
from mailmind.integrations.imap import ImapError
from mailmind.mailbox.supervisor import SyncSupervisor, watch_account
from mailmind.mailbox.sync import (
    FIRST_VISIBLE,
    AccountSync,
    AccountUnavailable,
    _batches,
    _since,
)
from mailmind.models import Folder, MailAccount, Message, SyncLease
from mailmind.realtime.publish import CHANNEL
from tests.conftest import create_user, runtime_with
from tests.mailservers import DroppingProxy

NOW = datetime.now(UTC).replace(microsecond=0)


def mail(
    subject: str, *, mid: str | None = None, date: datetime | None = None, size: int = 0
) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ann Example <ann@example.com>"
    msg["To"] = "me@example.com"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or NOW)
    msg["Message-ID"] = f"<{mid or uuid.uuid4().hex}@example.com>"
    msg.set_content(f"Body of {subject}.\n" + "x" * size)
    return bytes(msg)


@pytest.fixture
def sync_runtime(runtime, dovecot):
    return runtime_with(runtime, mail_ca_file=dovecot.ca_file, sync_poll_interval=10)


async def make_account(runtime, dovecot, mail_user, *, port: int | None = None, **settings):
    user = await create_user(runtime)
    config = dovecot.imap_config(mail_user, port=port)
    async with runtime.db.session() as session:
        account = MailAccount(
            id=uuid.uuid4(),
            user_id=user.id,
            kind="imap",
            email=f"{mail_user.username}@example.com",
            imap_host=config.host,
            imap_port=config.port,
            imap_security=config.security,
            imap_username=config.username,
            smtp_host=config.host,
            smtp_port=25,
            smtp_security="starttls",
            smtp_username=config.username,
            sync_state="pending",
            sync_settings=settings,
        )
        tokens.seal_secret(runtime, account, {"password": mail_user.password})
        session.add(account)
        await session.commit()
    return account


async def stored(runtime, account_id, folder_path: str | None = None) -> list[Message]:
    async with runtime.db.session() as session:
        query = select(Message).where(
            Message.account_id == account_id, Message.deleted_at.is_(None)
        )
        if folder_path:
            query = query.join(Folder, Folder.id == Message.folder_id).where(
                Folder.path == folder_path
            )
        return list((await session.scalars(query.order_by(Message.date))).all())


async def folders(runtime, account_id) -> dict[str, Folder]:
    async with runtime.db.session() as session:
        rows = await session.scalars(select(Folder).where(Folder.account_id == account_id))
        return {f.path: f for f in rows}


async def eventually(check, *, attempts: int = 150, pause: float = 0.2):
    for _ in range(attempts):
        result = await check()
        if result:
            return result
        await asyncio.sleep(pause)
    raise AssertionError("condition not reached")


async def test_full_sync_stores_every_folder_with_roles_and_counts(
    sync_runtime, dovecot, mail_user
):
    with dovecot.client(mail_user) as c:
        c.create_folder("Projekte")
        c.create_folder("Projekte/2026")
    for i in range(5):
        dovecot.deliver(mail_user, "INBOX", mail(f"Inbox {i}"), flags=("\\Seen",) if i < 2 else ())
    dovecot.deliver(mail_user, "Sent", mail("Sent one"), flags=("\\Seen",))
    dovecot.deliver(mail_user, "Projekte/2026", mail("Projekt"), flags=("\\Flagged",))
    account = await make_account(sync_runtime, dovecot, mail_user)

    result = await AccountSync(sync_runtime, account.id).run()

    assert result.stored == 7
    found = await folders(sync_runtime, account.id)
    roles = {path: f.role for path, f in found.items()}
    assert roles["INBOX"] == "inbox" and roles["Sent"] == "sent" and roles["Trash"] == "trash"
    assert roles["Junk"] == "spam" and roles["Projekte/2026"] == "custom"
    assert found["Projekte/2026"].parent_id == found["Projekte"].id
    assert (found["INBOX"].total_count, found["INBOX"].unread_count) == (5, 3)
    assert found["INBOX"].uidvalidity and found["INBOX"].last_seen_uid == 5
    starred = await stored(sync_runtime, account.id, "Projekte/2026")
    assert [m.is_starred for m in starred] == [True]
    async with sync_runtime.db.session() as session:
        refreshed = await session.get(MailAccount, account.id)
        assert refreshed.sync_state == "idle" and refreshed.last_sync_at is not None

    again = await AccountSync(sync_runtime, account.id).run()
    assert again.stored == 0
    assert len(await stored(sync_runtime, account.id)) == 7


async def test_first_pass_takes_the_newest_inbox_mail_first_then_backfills(
    sync_runtime, dovecot, mail_user
):
    for i in range(FIRST_VISIBLE + 10):
        dovecot.deliver(mail_user, "INBOX", mail(f"New {i}"), date=NOW - timedelta(minutes=100 - i))
    old = NOW - timedelta(days=90)
    dovecot.deliver(mail_user, "INBOX", mail("Old", date=old), date=old)
    ancient = NOW - timedelta(days=800)
    dovecot.deliver(mail_user, "INBOX", mail("Ancient", date=ancient), date=ancient)
    account = await make_account(sync_runtime, dovecot, mail_user, initial_days=30, depth_days=365)
    sync = AccountSync(sync_runtime, account.id)
    from mailmind.integrations.imap import open_imap

    async with open_imap(await sync.imap_config()) as conn:
        await sync._sync_folder_list(conn)
        inbox = (await folders(sync_runtime, account.id))["INBOX"]
        await sync._fetch_missing(
            conn, inbox, _since(30), sync_result(), "initial", limit=FIRST_VISIBLE
        )
    first = await stored(sync_runtime, account.id)
    assert len(first) == FIRST_VISIBLE
    assert min(m.uid for m in first) == 11  # the newest 50 of the 60 within 30 days

    await sync.run()
    subjects = {m.subject for m in await stored(sync_runtime, account.id)}
    assert "Old" in subjects  # within SYNC_DEPTH_DAYS: backfilled
    assert "Ancient" not in subjects  # beyond it
    assert len(subjects) == FIRST_VISIBLE + 11


def change_uidvalidity(dovecot, mail_user) -> None:
    """What a server rebuilt from a backup does to INBOX: the same messages, renumbered under a
    new UIDVALIDITY (Dovecot regenerates both when its UID list and index are gone)."""
    maildir = dovecot.directory / "home" / mail_user.username / "Maildir"
    for path in maildir.iterdir():
        if path.name == "dovecot-uidlist" or path.name.startswith("dovecot.index"):
            path.unlink()


def sync_result():
    from mailmind.mailbox.sync import PassResult

    return PassResult()


async def test_flags_moves_and_deletes_on_the_server_reach_the_local_copy(
    sync_runtime, dovecot, mail_user
):
    uids = [dovecot.deliver(mail_user, "INBOX", mail(f"M{i}")) for i in range(4)]
    account = await make_account(sync_runtime, dovecot, mail_user)
    await AccountSync(sync_runtime, account.id).run()

    with dovecot.client(mail_user) as c:
        c.select_folder("INBOX")
        c.add_flags([uids[0]], ["\\Seen", "\\Flagged"])
        c.move([uids[1]], "Archive")
        c.delete_messages([uids[2]])
        c.expunge()
    await AccountSync(sync_runtime, account.id).run()

    inbox = {m.subject: m for m in await stored(sync_runtime, account.id, "INBOX")}
    assert set(inbox) == {"M0", "M3"}
    assert inbox["M0"].is_read and inbox["M0"].is_starred
    assert [m.subject for m in await stored(sync_runtime, account.id, "Archive")] == ["M1"]
    found = await folders(sync_runtime, account.id)
    assert (found["INBOX"].total_count, found["INBOX"].unread_count) == (2, 1)


async def test_a_connection_cut_during_fetch_resumes_without_loss_or_duplicate(
    sync_runtime, dovecot, mail_user
):
    for i in range(120):
        dovecot.deliver(mail_user, "INBOX", mail(f"Bulk {i}", size=2000))
    with DroppingProxy(dovecot.imaps_port) as proxy:
        account = await make_account(sync_runtime, dovecot, mail_user, port=proxy.port)
        proxy.cut_after(150_000)  # in the middle of the second or third batch
        with pytest.raises(ImapError) as failure:
            await AccountSync(sync_runtime, account.id).run()
        assert failure.value.transient
        partial = await stored(sync_runtime, account.id)
        assert 0 < len(partial) < 120

        await AccountSync(sync_runtime, account.id).run()
    messages = await stored(sync_runtime, account.id)
    assert len(messages) == 120
    assert len({m.uid for m in messages}) == 120
    assert {m.subject for m in messages} == {f"Bulk {i}" for i in range(120)}


async def test_uidvalidity_change_rebuilds_the_folder_and_keeps_ai_results(
    sync_runtime, dovecot, mail_user
):
    for i in range(3):
        dovecot.deliver(mail_user, "INBOX", mail(f"Keep {i}", mid=f"keep-{i}"))
    account = await make_account(sync_runtime, dovecot, mail_user)
    await AccountSync(sync_runtime, account.id).run()
    before = {m.subject: m.id for m in await stored(sync_runtime, account.id, "INBOX")}
    async with sync_runtime.db.session() as session:
        message = await session.get(Message, before["Keep 1"])
        message.category = "work"
        await session.commit()
    old_validity = (await folders(sync_runtime, account.id))["INBOX"].uidvalidity

    change_uidvalidity(dovecot, mail_user)
    await AccountSync(sync_runtime, account.id).run()

    after = {m.subject: m for m in await stored(sync_runtime, account.id, "INBOX")}
    assert {s: m.id for s, m in after.items()} == before
    assert after["Keep 1"].category == "work"
    inbox = (await folders(sync_runtime, account.id))["INBOX"]
    assert inbox.uidvalidity != old_validity
    assert all(m.uidvalidity == inbox.uidvalidity for m in after.values())


async def test_a_refused_password_sets_auth_required_and_stops(sync_runtime, dovecot, mail_user):
    account = await make_account(sync_runtime, dovecot, mail_user)
    dovecot.set_password(mail_user, "changed-" + uuid.uuid4().hex)
    with pytest.raises(AccountUnavailable):
        await AccountSync(sync_runtime, account.id).run()
    async with sync_runtime.db.session() as session:
        refreshed = await session.get(MailAccount, account.id)
        assert refreshed.sync_state == "auth_required"
    # No further logins until the credentials change.
    with pytest.raises(AccountUnavailable):
        await AccountSync(sync_runtime, account.id).run()
    await watch_account(sync_runtime, account.id)  # returns at once instead of retrying


async def test_mail_delivered_during_idle_arrives_and_survives_a_server_restart(
    sync_runtime, dovecot, mail_user
):
    account = await make_account(sync_runtime, dovecot, mail_user)
    events: list[dict] = []

    async def listen():
        async for _, message in sync_runtime.store.subscribe(CHANNEL):
            event = json.loads(message)
            if event["user_id"] == str(account.user_id):
                events.append(event)

    listener = asyncio.create_task(listen())
    watcher = asyncio.create_task(watch_account(sync_runtime, account.id))
    try:

        async def idle_state():
            async with sync_runtime.db.session() as s:
                return (await s.get(MailAccount, account.id)).sync_state == "idle"

        await eventually(idle_state)
        await asyncio.sleep(0.5)  # the watcher is in IDLE now
        dovecot.deliver(mail_user, "INBOX", mail("While idling"))

        async def arrived(subject):
            return [m for m in await stored(sync_runtime, account.id) if m.subject == subject]

        await eventually(lambda: arrived("While idling"))

        async def announced(subject):
            return [
                e for e in events if e["type"] == "new_email" and e["data"]["subject"] == subject
            ]

        (event,) = await eventually(lambda: announced("While idling"))
        (message,) = await arrived("While idling")
        assert event["data"]["email_id"] == str(message.id)
        assert event["data"]["folder_id"] == str(message.folder_id)

        dovecot.restart()
        dovecot.deliver(mail_user, "INBOX", mail("After restart"))
        await eventually(lambda: arrived("After restart"), attempts=400)
        await eventually(lambda: announced("After restart"))
    finally:
        watcher.cancel()
        listener.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watcher
        with pytest.raises(asyncio.CancelledError):
            await listener
    assert len(await stored(sync_runtime, account.id)) == 2


async def test_one_worker_watches_an_account_and_another_takes_over_when_it_dies(
    sync_runtime, dovecot, mail_user
):
    account = await make_account(sync_runtime, dovecot, mail_user)
    first = SyncSupervisor(sync_runtime, owner="worker-a", lease_seconds=2, renew_seconds=0.5)
    second = SyncSupervisor(sync_runtime, owner="worker-b", lease_seconds=2, renew_seconds=0.5)
    assert account.id in await first.claim()
    assert account.id not in await second.claim()
    # worker-a dies: no renewal. Within the lease time the account moves to worker-b.
    await asyncio.sleep(2.2)
    assert account.id in await second.claim()
    assert account.id not in await first.claim()
    async with sync_runtime.db.session() as session:
        owners = (
            await session.scalars(select(SyncLease.owner).where(SyncLease.account_id == account.id))
        ).all()
        assert owners == ["worker-b"]
    await second.release()


async def test_many_batches_with_malformed_mail_are_each_stored_once(
    sync_runtime, dovecot, mail_user
):
    """More batches than the pipeline fetches and parses ahead, broken MIME among them."""
    samples = Path(__file__).parents[1] / "message" / "samples"
    broken = [
        (samples / name).read_bytes() for name in ("broken_boundary.eml", "truncated_base64.eml")
    ]
    for i in range(180):
        dovecot.deliver(mail_user, "INBOX", mail(f"Bulk {i}"))
        if i in (70, 140):
            dovecot.deliver(mail_user, "INBOX", broken[i // 140])
    account = await make_account(sync_runtime, dovecot, mail_user)

    result = await AccountSync(sync_runtime, account.id).run()

    messages = await stored(sync_runtime, account.id)
    assert result.stored == len(messages) == 182
    assert len({m.uid for m in messages}) == 182
    assert {f"Bulk {i}" for i in range(180)} <= {m.subject for m in messages}
    assert sum(bool(m.parse_defects or m.parse_error) for m in messages) >= 2
    assert (await AccountSync(sync_runtime, account.id).run()).stored == 0


async def test_planner_statistics_are_refreshed_when_a_sync_outgrows_them(sync_runtime):
    async def last_analyze():
        async with sync_runtime.db.session() as session:
            return await session.scalar(
                text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'messages'")
            )

    before = await last_analyze()
    sync = AccountSync(sync_runtime, uuid.uuid4())
    await sync._refresh_statistics(10)  # below the first check
    assert await last_analyze() == before
    await sync._refresh_statistics(10**12)  # more than the table can be believed to hold
    after = await last_analyze()
    assert after is not None and (before is None or after > before)


def test_batches_are_bounded_by_count_and_bytes():
    sizes = {9: 10, 8: 10, 7: 100, 6: 10, 5: 10, 4: 10, 3: 10}
    uids = [9, 8, 7, 6, 5, 4, 3, 2]  # 2 is gone from the server: no size
    # At most 3 messages and 50 bytes a batch; the 100-byte message alone; order kept.
    assert list(_batches(uids, sizes, 3, 50)) == [[9, 8], [7], [6, 5, 4], [3, 2]]
    assert list(_batches([], {}, 3, 50)) == []
