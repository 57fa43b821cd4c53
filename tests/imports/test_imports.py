"""Import through the API and the job (PRODUCT_SPEC §2.3 "Import", §3 ``/imports``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mailmind.imports import service
from mailmind.message import ingest
from mailmind.models import Folder, MailAccount, MailImport, Message, MessageSource, Notification
from mailmind.realtime.publish import CHANNEL
from mailmind.runtime import Runtime
from tests.conftest import (
    app_for,
    assert_error,
    bearer,
    create_user,
    drain_jobs,
    login,
    make_client,
    runtime_with,
)
from tests.imports.mailfiles import make_message, mbox_bytes, to_bytes, write_zip


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def rt(runtime: Runtime, data_dir: Path) -> Runtime:
    return runtime_with(runtime, data_dir=data_dir)


@contextlib.asynccontextmanager
async def api(rt: Runtime) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], Any]]:
    """A client of an app on ``rt`` and a signed-in user's headers."""
    async with make_client(app_for(rt)) as client:
        user = await create_user(rt)
        token = (await login(client, user.email))["access_token"]
        yield client, bearer(token), user


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes
) -> httpx.Response:
    return await client.post(
        "/api/imports", files={"file": (name, data, "application/octet-stream")}, headers=headers
    )


async def run_jobs(rt: Runtime, import_id: str) -> MailImport:
    """Run the queue until the import is finished (a retried job runs in a later round)."""
    for _ in range(5):
        await drain_jobs(rt)
        async with rt.db.session() as session:
            row = await session.get(MailImport, uuid.UUID(import_id))
            assert row is not None
            if row.status in {"completed", "failed"}:
                return row
    raise AssertionError(f"import still {row.status}")


async def stored_messages(rt: Runtime, user_id: uuid.UUID) -> list[Message]:
    async with rt.db.session() as session:
        rows = await session.scalars(
            select(Message)
            .join(MailAccount, MailAccount.id == Message.account_id)
            .where(MailAccount.user_id == user_id, MailAccount.kind == "local")
        )
        return list(rows)


def mailbox_of(count: int, start: int = 0, **options: Any) -> bytes:
    return mbox_bytes(to_bytes(make_message(i, **options)) for i in range(start, start + count))


def uploads_left(data_dir: Path) -> list[str]:
    directory = data_dir / "imports"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


async def test_an_uploaded_mbox_is_imported_into_one_folder_of_the_local_account(
    rt: Runtime, data_dir: Path
) -> None:
    quoted = "Hi,\n\nFrom here on the line was quoted by the mbox writer.\n"
    unquoted = "Dear team,\nFrom the desk of the director.\n"
    raws = [to_bytes(make_message(i)) for i in range(298)]
    raws.append(to_bytes(make_message(298, body=quoted)))
    raws.append(to_bytes(make_message(299, body=unquoted)))
    data = mbox_bytes(raws[:299]) + mbox_bytes(raws[299:], quote=False)
    async with api(rt) as (client, headers, user):
        response = await upload(client, headers, "Archive 2019.mbox", data)
        assert response.status_code == 202, response.text
        import_id = response.json()["id"]
        queued = (await client.get(f"/api/imports/{import_id}", headers=headers)).json()
        assert queued["status"] == "queued"
        assert queued["filename"] == "Archive 2019.mbox"

        await run_jobs(rt, import_id)
        body = (await client.get(f"/api/imports/{import_id}", headers=headers)).json()
    assert {k: body[k] for k in ("status", "total", "imported", "duplicates", "failed")} == {
        "status": "completed",
        "total": 300,
        "imported": 300,
        "duplicates": 0,
        "failed": 0,
    }
    assert body["error"] is None
    messages = await stored_messages(rt, user.id)
    assert sorted(m.message_id_header for m in messages) == sorted(
        f"import-{i}@example.com" for i in range(300)
    )
    by_id = {m.message_id_header: m for m in messages}
    assert "\nFrom here on the line was quoted" in by_id["import-298@example.com"].body_text
    assert "\nFrom the desk of the director." in by_id["import-299@example.com"].body_text
    async with rt.db.session() as session:
        folders = list(await session.scalars(select(Folder).where(Folder.user_id == user.id)))
        assert [f.name for f in folders] == ["Archive 2019"]
        assert {m.folder_id for m in messages} == {folders[0].id}
        # The raw source is kept as it was in the file, unquoted.
        source = await session.get(MessageSource, by_id["import-298@example.com"].id)
        assert source is not None and source.raw_size == len(raws[298])
        notes = list(
            await session.scalars(select(Notification).where(Notification.user_id == user.id))
        )
    assert [(n.type, n.title) for n in notes] == [
        ("import_finished", "Import of Archive 2019.mbox finished")
    ]
    assert "300 imported" in notes[0].body
    assert uploads_left(data_dir) == []


async def test_importing_the_same_file_twice_finds_only_duplicates(rt: Runtime) -> None:
    data = mailbox_of(120)
    async with api(rt) as (client, headers, user):
        first = (await upload(client, headers, "box.mbox", data)).json()["id"]
        second = (await upload(client, headers, "box.mbox", data)).json()["id"]
        await run_jobs(rt, first)
        await run_jobs(rt, second)
        one = (await client.get(f"/api/imports/{first}", headers=headers)).json()
        two = (await client.get(f"/api/imports/{second}", headers=headers)).json()
    assert (one["imported"], one["duplicates"]) == (120, 0)
    assert (two["status"], two["total"], two["imported"], two["duplicates"]) == (
        "completed",
        120,
        0,
        120,
    )
    assert len(await stored_messages(rt, user.id)) == 120


async def test_messages_without_message_id_are_deduplicated_by_their_source(rt: Runtime) -> None:
    data = mailbox_of(10, message_id=False)
    async with api(rt) as (client, headers, _user):
        first = (await upload(client, headers, "a.mbox", data)).json()["id"]
        second = (await upload(client, headers, "a.mbox", data)).json()["id"]
        assert (await run_jobs(rt, first)).imported == 10
        row = await run_jobs(rt, second)
    assert (row.imported, row.duplicates) == (0, 10)


async def test_an_eml_file_is_imported(rt: Runtime) -> None:
    raw = to_bytes(make_message(5, subject="Quarterly report"), "\r\n")
    async with api(rt) as (client, headers, user):
        import_id = (await upload(client, headers, "report.eml", raw)).json()["id"]
        row = await run_jobs(rt, import_id)
    assert (row.status, row.total, row.imported) == ("completed", 1, 1)
    (message,) = await stored_messages(rt, user.id)
    assert message.subject == "Quarterly report"


async def test_a_zip_with_directories_is_one_folder(rt: Runtime, tmp_path: Path) -> None:
    members = [
        (f"2019/{m:02d}/{i}.eml", to_bytes(make_message(m * 10 + i)))
        for m in (1, 2)
        for i in range(5)
    ]
    members += [("__MACOSX/2019/01/._0.eml", b"\x00\x05\x16\x07"), ("readme.txt", b"hello")]
    data = write_zip(tmp_path / "mail.zip", members).read_bytes()
    async with api(rt) as (client, headers, user):
        import_id = (await upload(client, headers, "Old mail.zip", data)).json()["id"]
        row = await run_jobs(rt, import_id)
    assert (row.status, row.total, row.imported, row.failed) == ("completed", 10, 10, 0)
    messages = await stored_messages(rt, user.id)
    async with rt.db.session() as session:
        names = list(await session.scalars(select(Folder.name).where(Folder.user_id == user.id)))
    assert names == ["Old mail"]
    assert len({m.folder_id for m in messages}) == 1


async def test_an_oversize_message_is_counted_failed_and_the_rest_imported(
    runtime: Runtime, data_dir: Path
) -> None:
    rt = runtime_with(runtime, data_dir=data_dir, import_max_message_bytes=50_000)
    raws = [to_bytes(make_message(i)) for i in range(6)]
    raws.insert(3, to_bytes(make_message(99, attachment=os.urandom(200_000))))
    async with api(rt) as (client, headers, user):
        import_id = (await upload(client, headers, "m.mbox", mbox_bytes(raws))).json()["id"]
        row = await run_jobs(rt, import_id)
    assert (row.status, row.total, row.imported, row.failed) == ("completed", 7, 6, 1)
    ids = {m.message_id_header for m in await stored_messages(rt, user.id)}
    assert "import-99@example.com" not in ids and len(ids) == 6


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.mbox", b"\x89PNG\r\n\x1a\n" + bytes(5000)),
        ("notes.eml", b"Shopping list\nmilk\nbread\n"),
        ("empty.mbox", b""),
        ("docs.zip", None),
    ],
)
async def test_a_file_that_is_not_mail_is_refused_with_ai006(
    rt: Runtime, data_dir: Path, tmp_path: Path, name: str, content: bytes | None
) -> None:
    if content is None:
        content = write_zip(tmp_path / "d.zip", [("a.txt", b"x"), ("b.pdf", b"%PDF")]).read_bytes()
    async with api(rt) as (client, headers, _user):
        response = await upload(client, headers, name, content)
        assert_error(response, 400, "AI006")
        listed = (await client.get("/api/imports", headers=headers)).json()
    assert listed["items"] == []
    assert uploads_left(data_dir) == []


async def test_an_upload_over_import_max_bytes_is_refused_with_val006(
    runtime: Runtime, data_dir: Path
) -> None:
    rt = runtime_with(runtime, data_dir=data_dir, import_max_bytes=20_000)
    data = mailbox_of(200)
    assert len(data) > 20_000
    async with api(rt) as (client, headers, _user):
        assert_error(await upload(client, headers, "big.mbox", data), 413, "VAL006")

        # Without Content-Length the limit holds while the body streams in.
        boundary = "mailmind-test-boundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.mbox"\r\nContent-Type: application/mbox\r\n\r\n'
        ).encode()

        async def body() -> AsyncIterator[bytes]:
            yield head
            for start in range(0, len(data), 4096):
                yield data[start : start + 4096]
            yield f"\r\n--{boundary}--\r\n".encode()

        response = await client.post(
            "/api/imports",
            content=body(),
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert "content-length" not in {k.lower() for k in response.request.headers}
        assert_error(response, 413, "VAL006")
        assert (await client.get("/api/imports", headers=headers)).json()["items"] == []
    assert uploads_left(data_dir) == []


async def test_the_file_field_is_required(rt: Runtime) -> None:
    async with api(rt) as (client, headers, _user):
        response = await client.post(
            "/api/imports", files={"other": ("a.mbox", mailbox_of(1))}, headers=headers
        )
        assert_error(response, 400, "VAL001")
        response = await client.post("/api/imports", json={"file": "x"}, headers=headers)
        assert_error(response, 400, "VAL002")


async def test_another_users_import_is_not_found(rt: Runtime) -> None:
    async with api(rt) as (client, headers, _user):
        import_id = (await upload(client, headers, "mine.mbox", mailbox_of(2))).json()["id"]
        other = await create_user(rt)
        other_headers = bearer((await login(client, other.email))["access_token"])
        assert_error(
            await client.get(f"/api/imports/{import_id}", headers=other_headers), 404, "RES001"
        )
        assert_error(
            await client.get(f"/api/imports/{uuid.uuid4()}", headers=headers), 404, "RES001"
        )
        theirs = (await client.get("/api/imports", headers=other_headers)).json()
        mine = (await client.get("/api/imports", headers=headers)).json()
    assert theirs == {"items": [], "next_cursor": None}
    assert [item["id"] for item in mine["items"]] == [import_id]


async def test_the_list_is_newest_first_and_paginated(rt: Runtime) -> None:
    async with api(rt) as (client, headers, _user):
        ids = [
            (await upload(client, headers, f"{i}.mbox", mailbox_of(1, start=i))).json()["id"]
            for i in range(3)
        ]
        page = (await client.get("/api/imports?limit=2", headers=headers)).json()
        rest = (
            await client.get(f"/api/imports?limit=2&cursor={page['next_cursor']}", headers=headers)
        ).json()
    assert [i["id"] for i in page["items"] + rest["items"]] == ids[::-1]
    assert rest["next_cursor"] is None


async def test_a_crashed_import_resumes_after_the_last_committed_batch(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real_ingest = ingest.ingest_batch

    async def dies_in_the_third_batch(*args: Any, **kwargs: Any) -> ingest.IngestResult:
        nonlocal calls
        calls += 1
        result = await real_ingest(*args, **kwargs)  # stored, then the worker dies before commit
        if calls == 3:
            raise RuntimeError("worker died")
        return result

    monkeypatch.setattr(ingest, "ingest_batch", dies_in_the_third_batch)
    async with api(rt) as (client, headers, user):
        import_id = (await upload(client, headers, "crash.mbox", mailbox_of(230))).json()["id"]

        with pytest.raises(RuntimeError, match="worker died"):
            await service.run_import(rt, uuid.UUID(import_id))
        halfway = (await client.get(f"/api/imports/{import_id}", headers=headers)).json()
        assert (halfway["status"], halfway["total"], halfway["imported"]) == ("running", 230, 100)
        assert len(await stored_messages(rt, user.id)) == 100

        await service.run_import(rt, uuid.UUID(import_id))
        done = (await client.get(f"/api/imports/{import_id}", headers=headers)).json()
    # Five batches, the third twice: the second run started at batch three, not at the top.
    assert calls == 6
    assert (done["status"], done["imported"], done["duplicates"], done["failed"]) == (
        "completed",
        230,
        0,
        0,
    )
    ids = [m.message_id_header for m in await stored_messages(rt, user.id)]
    assert sorted(ids) == sorted(f"import-{i}@example.com" for i in range(230))


async def test_a_failing_job_is_retried_and_resumes(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real_ingest = ingest.ingest_batch

    async def dies_once(*args: Any, **kwargs: Any) -> ingest.IngestResult:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionResetError("database went away")
        return await real_ingest(*args, **kwargs)

    monkeypatch.setattr(ingest, "ingest_batch", dies_once)
    async with api(rt) as (client, headers, user):
        import_id = (await upload(client, headers, "retry.mbox", mailbox_of(120))).json()["id"]
        row = await run_jobs(rt, import_id)
    assert (row.status, row.imported, row.duplicates) == ("completed", 120, 0)
    assert calls == 4
    assert len(await stored_messages(rt, user.id)) == 120


async def test_a_missing_upload_ends_the_import_as_failed(rt: Runtime, data_dir: Path) -> None:
    async with api(rt) as (client, headers, user):
        import_id = (await upload(client, headers, "gone.mbox", mailbox_of(3))).json()["id"]
        shutil.rmtree(data_dir / "imports")
        row = await run_jobs(rt, import_id)
        body = (await client.get(f"/api/imports/{import_id}", headers=headers)).json()
    assert row.status == "failed"
    assert body["error"] == "The uploaded file is no longer available"
    async with rt.db.session() as session:
        note = await session.scalar(select(Notification).where(Notification.user_id == user.id))
    assert note is not None and note.title == "Import of gone.mbox failed"


async def test_progress_is_published_as_sync_status_events(rt: Runtime) -> None:
    received: list[dict[str, Any]] = []
    ready = asyncio.Event()

    async def listen() -> None:
        async for _, message in rt.store.subscribe(CHANNEL):
            if message == "ready":
                ready.set()
                continue
            received.append(json.loads(message))

    listener = asyncio.create_task(listen())
    try:
        while not ready.is_set():  # the subscription is live once it hears its own marker
            await rt.store.publish(CHANNEL, "ready")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), 0.2)
        async with api(rt) as (client, headers, user):
            import_id = (await upload(client, headers, "p.mbox", mailbox_of(120))).json()["id"]
            await run_jobs(rt, import_id)
        for _ in range(100):
            if any(e["type"] == "notification" for e in received):
                break
            await asyncio.sleep(0.05)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
    mine = [e for e in received if e["user_id"] == str(user.id)]
    status = [e["data"] for e in mine if e["type"] == "sync_status"]
    assert {s["phase"] for s in status} == {"import"}
    assert [(s["status"], s["processed"], s["total"], s["progress"]) for s in status] == [
        ("syncing", 0, 120, 0),
        ("syncing", 50, 120, 41),
        ("syncing", 100, 120, 83),
        ("syncing", 120, 120, 100),
        ("completed", 120, 120, 100),
    ]
    assert all(s["import_id"] == import_id and s["folder"] == "p" for s in status)
    notes = [e["data"] for e in mine if e["type"] == "notification"]
    assert [(n["type"], n["title"]) for n in notes] == [
        ("import_finished", "Import of p.mbox finished")
    ]
    assert not [e for e in mine if e["type"] == "new_email"]
