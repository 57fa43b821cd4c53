"""GET /api/emails: filters, unified views, sorting and keyset pagination (PRODUCT_SPEC §2.4)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from mailmind.kit.time import utcnow
from tests.api.conftest import make_box
from tests.conftest import assert_error
from tests.factories import create_folder, create_message, create_tag


async def _ids(client, headers, **params):
    response = await client.get("/api/emails", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_summary_has_the_spec_fields(client, runtime, box):
    async with runtime.db.session() as s:
        tag = await create_tag(s, box.user, "Work/Clients")
        m = await create_message(
            s,
            box.account,
            box.inbox,
            subject="Invoice",
            category="work",
            priority=75,
            priority_band="high",
            tags=[tag],
        )
    response = await client.get("/api/emails", headers=box.headers)
    (item,) = response.json()["items"]
    assert set(item) == {
        "id",
        "account_id",
        "folder_id",
        "thread_id",
        "subject",
        "sender",
        "to",
        "date",
        "preview",
        "is_read",
        "is_starred",
        "has_attachments",
        "category",
        "needs_review",
        "priority",
        "priority_band",
        "tags",
        "snoozed_until",
        "send_status",
        "ai_status",
    }
    assert item["id"] == str(m.id)
    assert item["sender"] == {"name": "Ada Lovelace", "address": "ada@example.com"}
    assert item["to"] == [{"name": "Bob", "address": "bob@example.com"}]
    assert item["tags"] == ["Work/Clients"]
    assert item["thread_id"] == str(m.thread_id)
    assert response.json()["next_cursor"] is None


async def test_unified_inbox_spans_accounts_and_skips_spam_and_trash(client, runtime, box):
    async with runtime.db.session() as s:
        from tests.factories import create_account

        second = await create_account(s, box.user)
        second_inbox = await create_folder(s, second, role="inbox")
        a = await create_message(s, box.account, box.inbox, subject="a")
        b = await create_message(s, second, second_inbox, subject="b")
        sent = await create_message(s, box.account, box.folders["sent"], subject="sent")
        await create_message(s, box.account, box.folders["spam"], subject="spam")
        await create_message(s, box.account, box.folders["trash"], subject="trash")
    assert set(await _ids(client, box.headers, folder_role="inbox")) == {str(a.id), str(b.id)}
    assert set(await _ids(client, box.headers)) == {str(a.id), str(b.id), str(sent.id)}
    assert await _ids(client, box.headers, folder_role="inbox", account_id=str(second.id)) == [
        str(b.id)
    ]
    spam = await _ids(client, box.headers, folder_id=str(box.folders["spam"].id))
    assert len(spam) == 1


async def test_filters_category_band_read_star_attachment(client, runtime, box):
    async with runtime.db.session() as s:
        work = await create_message(s, box.account, box.inbox, category="work")
        high = await create_message(s, box.account, box.inbox, priority=90, priority_band="high")
        read = await create_message(s, box.account, box.inbox, is_read=True)
        star = await create_message(s, box.account, box.inbox, is_starred=True)
        att = await create_message(s, box.account, box.inbox, has_attachments=True)
    assert await _ids(client, box.headers, category="work") == [str(work.id)]
    assert await _ids(client, box.headers, priority="high") == [str(high.id)]
    assert await _ids(client, box.headers, is_read="true") == [str(read.id)]
    assert str(read.id) not in await _ids(client, box.headers, is_read="false")
    assert await _ids(client, box.headers, is_starred="true") == [str(star.id)]
    assert await _ids(client, box.headers, has_attachments="true") == [str(att.id)]


async def test_tag_filter_includes_sub_tags_case_insensitively(client, runtime, box):
    async with runtime.db.session() as s:
        work = await create_tag(s, box.user, "Work")
        clients = await create_tag(s, box.user, "Work/Clients")
        workshop = await create_tag(s, box.user, "Workshop")
        a = await create_message(s, box.account, box.inbox, tags=[work])
        b = await create_message(s, box.account, box.inbox, tags=[clients])
        await create_message(s, box.account, box.inbox, tags=[workshop])
    assert set(await _ids(client, box.headers, tag="work")) == {str(a.id), str(b.id)}
    assert await _ids(client, box.headers, tag="Work/Clients") == [str(b.id)]


async def test_snoozed_mail_shows_only_in_the_snoozed_view(client, runtime, box):
    async with runtime.db.session() as s:
        normal = await create_message(s, box.account, box.inbox)
        snoozed = await create_message(
            s, box.account, box.inbox, snoozed_until=utcnow() + timedelta(hours=3)
        )
    assert await _ids(client, box.headers, folder_role="inbox") == [str(normal.id)]
    assert await _ids(client, box.headers, snoozed="true") == [str(snoozed.id)]


async def test_scheduled_view_lists_outgoing_mail_without_a_folder(client, runtime, box):
    async with runtime.db.session() as s:
        scheduled = await create_message(s, box.account, None, send_status="scheduled")
        await create_message(s, box.account, box.inbox)
    assert await _ids(client, box.headers, send_status="scheduled") == [str(scheduled.id)]
    assert str(scheduled.id) not in await _ids(client, box.headers)


async def test_deleted_mail_is_never_listed(client, runtime, box):
    async with runtime.db.session() as s:
        await create_message(s, box.account, box.inbox, deleted_at=utcnow())
    assert await _ids(client, box.headers) == []


async def test_pages_walk_every_message_once_newest_first(client, runtime, box):
    now = utcnow()
    async with runtime.db.session() as s:
        created = []
        for i in range(7):
            # Two share a date: the id breaks the tie.
            date = now - timedelta(hours=i if i != 3 else 2)
            created.append(await create_message(s, box.account, box.inbox, date=date))
        undated = await create_message(s, box.account, box.inbox)
        undated.date = None
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/api/emails", params=params, headers=box.headers)).json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 8
    assert len({item["id"] for item in seen}) == 8
    dates = [item["date"] for item in seen if item["date"]]
    assert dates == sorted(dates, reverse=True)
    assert seen[0]["id"] == str(undated.id)  # undated mail sorts like PostgreSQL's NULLS FIRST


async def test_priority_sort_puts_unscored_mail_last_across_pages(client, runtime, box):
    async with runtime.db.session() as s:
        for priority in (10, None, 80, 45, None, 80):
            await create_message(
                s,
                box.account,
                box.inbox,
                priority=priority,
            )
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "sort": "priority_desc", **({"cursor": cursor} if cursor else {})}
        body = (await client.get("/api/emails", params=params, headers=box.headers)).json()
        seen += [item["priority"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [80, 80, 45, 10, None, None]


async def test_bad_limit_cursor_and_folders_are_refused(client, runtime, box, other):
    assert_error(
        await client.get("/api/emails", params={"limit": 101}, headers=box.headers), 400, "VAL003"
    )
    assert_error(
        await client.get("/api/emails", params={"cursor": "nope"}, headers=box.headers),
        400,
        "VAL002",
    )
    assert_error(
        await client.get(
            "/api/emails", params={"folder_id": str(other.inbox.id)}, headers=box.headers
        ),
        400,
        "EMAIL007",
    )
    assert_error(
        await client.get(
            "/api/emails", params={"account_id": str(other.account.id)}, headers=box.headers
        ),
        404,
        "RES001",
    )
    assert_error(
        await client.get("/api/emails", params={"sort": "random"}, headers=box.headers),
        400,
        "VAL002",
    )


async def test_a_user_never_sees_another_users_mail(client, runtime, box):
    stranger = await make_box(runtime, client)
    async with runtime.db.session() as s:
        await create_message(s, stranger.account, stranger.inbox)
    assert await _ids(client, box.headers) == []
    assert await _ids(client, box.headers, folder_role="inbox") == []


async def test_views_over_several_folders_show_each_mail_once(client, runtime, box):
    """The same Message-ID in INBOX and Archive, and in a second account: one row in unified
    views, a copy that matches the view; every copy in its own folder."""
    async with runtime.db.session() as s:
        from tests.factories import create_account

        second = await create_account(s, box.user)
        second_inbox = await create_folder(s, second, role="inbox")
        archive = await create_folder(s, box.account, role="archive")
        shared = {"dedupe_key": "<same@example.com>", "message_id_header": "<same@example.com>"}
        first = await create_message(s, box.account, box.inbox, subject="copy", **shared)
        archived = await create_message(
            s, box.account, archive, subject="copy", is_starred=True, **shared
        )
        other = await create_message(s, second, second_inbox, subject="copy", **shared)
        trashed = await create_message(s, box.account, box.folders["trash"], subject="copy")
        alone = await create_message(s, box.account, box.inbox, subject="alone")
    copies = {str(first.id), str(archived.id), str(other.id)}
    unified = await _ids(client, box.headers)
    assert len(unified) == 2 and str(alone.id) in unified and len(copies & set(unified)) == 1
    inbox = await _ids(client, box.headers, folder_role="inbox")
    assert len(inbox) == 2 and str(alone.id) in inbox
    assert len({str(first.id), str(other.id)} & set(inbox)) == 1
    # Only the archived copy is starred: the starred view shows that one.
    assert await _ids(client, box.headers, is_starred="true") == [str(archived.id)]
    assert await _ids(client, box.headers, folder_id=str(archive.id)) == [str(archived.id)]
    assert await _ids(client, box.headers, folder_id=str(second_inbox.id)) == [str(other.id)]
    assert await _ids(client, box.headers, folder_id=str(box.folders["trash"].id)) == [
        str(trashed.id)
    ]
    # A deleted copy no longer counts: another copy takes its place, still once.
    shown = (copies & set(unified)).pop()
    async with runtime.db.session() as s:
        row = await s.get(type(first), uuid.UUID(shown))
        row.deleted_at = utcnow()
    unified = await _ids(client, box.headers)
    assert len(unified) == 2 and shown not in unified and len(copies & set(unified)) == 1
