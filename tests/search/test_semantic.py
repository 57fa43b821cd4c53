"""Semantic and hybrid search, the keyword fallback, related mail, Ask your inbox (with its SSE
stream), the search rate limit and the result cache (PRODUCT_SPEC §2.6)."""

from __future__ import annotations

import orjson

from mailmind.message.ingest import IncomingMessage, ingest_batch
from mailmind.models import Message
from tests.api.conftest import make_box
from tests.conftest import app_for, assert_error, make_client, runtime_with
from tests.factories import create_thread
from tests.search.conftest import add_mail, embed

CAR = ("Garage appointment", "Your vehicle is booked for its annual service and brake check.")
BAKE = ("Sunday plans", "Grandma will bake her apple pie and we eat in the garden.")
TAX = ("Tax return", "The accountant needs your payslips to file the income tax declaration.")


async def _mail(runtime, box, items, *, embedded=True):
    async with runtime.db.session() as s:
        rows = [await add_mail(s, box.account, box.inbox, subject=a, body=b) for a, b in items]
        if embedded:
            await embed(s, runtime, rows)
    return rows


async def _search(client, box, q, **params):
    response = await client.get("/api/search", params={"q": q, **params}, headers=box.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_semantic_finds_mail_by_meaning(client, runtime, box):
    await _mail(runtime, box, [CAR, BAKE, TAX])
    page = await _search(client, box, "car repair", mode="semantic")
    assert page["mode_used"] == "semantic"
    first = page["items"][0]
    assert first["email"]["subject"] == "Garage appointment"
    assert first["matched"] == "semantic" and 0 < first["score"] <= 1
    assert "vehicle" in first["highlights"]["body"]


async def test_hybrid_fuses_both_lists(client, runtime, box):
    await _mail(runtime, box, [CAR, BAKE, TAX, ("Brake pads", "Order form for pads.")])
    page = await _search(client, box, "brake")
    assert page["mode_used"] == "hybrid"
    by_subject = {i["email"]["subject"]: i for i in page["items"]}
    # Both lists agree on the service mail: it leads, marked as matched by both.
    assert page["items"][0]["email"]["subject"] in ("Garage appointment", "Brake pads")
    assert {by_subject["Garage appointment"]["matched"], by_subject["Brake pads"]["matched"]} <= {
        "both",
        "keyword",
    }
    assert "both" in {i["matched"] for i in page["items"]}


async def test_without_vectors_semantic_and_hybrid_fall_back_to_keyword(client, runtime, box):
    await _mail(runtime, box, [CAR, TAX], embedded=False)
    for mode in ("semantic", "hybrid"):
        page = await _search(client, box, "vehicle", mode=mode)
        assert page["mode_used"] == "keyword"
        assert [i["email"]["subject"] for i in page["items"]] == ["Garage appointment"]
        assert page["items"][0]["matched"] == "keyword"


async def test_semantic_never_returns_another_users_mail(client, runtime, box):
    other = await make_box(runtime, client)
    await _mail(runtime, other, [("Car trouble", "My car broke down, the vehicle needs repair.")])
    await _mail(runtime, box, [BAKE])
    for mode in ("semantic", "hybrid"):
        page = await _search(client, box, "car repair vehicle", mode=mode)
        assert page["mode_used"] == mode
        assert all(i["email"]["subject"] != "Car trouble" for i in page["items"])


async def test_related_mail_is_the_users_own_outside_the_thread(client, runtime, box):
    other = await make_box(runtime, client)
    await _mail(
        runtime, other, [("Car service", "The vehicle needs a brake service at the garage.")]
    )
    async with runtime.db.session() as s:
        thread = await create_thread(s, box.account, subject="Garage appointment")
        first = await add_mail(
            s, box.account, box.inbox, subject=CAR[0], body=CAR[1], thread=thread
        )
        reply = await add_mail(
            s, box.account, box.inbox, subject="Re: " + CAR[0], body=CAR[1], thread=thread
        )
        near = await add_mail(
            s,
            box.account,
            box.inbox,
            subject="Tyres",
            body="Winter tyres for the car at the garage.",
        )
        far = await add_mail(s, box.account, box.inbox, subject=BAKE[0], body=BAKE[1])
        await embed(s, runtime, [first, reply, near, far])
    response = await client.get(f"/api/emails/{first.id}/related", headers=box.headers)
    assert response.status_code == 200, response.text
    subjects = [i["email"]["subject"] for i in response.json()["items"]]
    assert subjects[0] == "Tyres"
    assert "Re: Garage appointment" not in subjects and "Car service" not in subjects
    foreign = await client.get(f"/api/emails/{first.id}/related", headers=other.headers)
    assert_error(foreign, 404, "RES001")


async def test_ask_answers_from_the_users_mail_with_citations(client, runtime, box):
    other = await make_box(runtime, client)
    await _mail(runtime, other, [("Car service", "Your vehicle service is on Friday at 9.")])
    rows = await _mail(runtime, box, [CAR, BAKE, TAX])
    response = await client.post(
        "/api/ai/ask", json={"question": "When is my car being serviced?"}, headers=box.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == "extractive"
    assert body["citations"] and body["citations"][0]["email_id"] == str(rows[0].id)
    assert "[1]" in body["answer"] and "annual service" in body["answer"]
    cited = {c["email_id"] for c in body["citations"]}
    assert cited <= {str(r.id) for r in rows}
    citation = body["citations"][0]
    assert citation["subject"] == "Garage appointment"
    assert citation["sender"] == {"name": "Ada Lovelace", "address": "ada@example.com"}
    assert citation["snippet"]


async def test_ask_says_so_when_nothing_is_relevant(client, runtime, box):
    await _mail(runtime, box, [CAR, BAKE, TAX])
    response = await client.post(
        "/api/ai/ask",
        json={"question": "Which quantum chromodynamics lattice results were published?"},
        headers=box.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["citations"] == [] and "nothing" in body["answer"].lower()
    # Asked in German, it says so in German.
    response = await client.post(
        "/api/ai/ask",
        json={"question": "Welche Ergebnisse der Gitter-Quantenchromodynamik gibt es?"},
        headers=box.headers,
    )
    body = response.json()
    assert body["citations"] == [] and "nichts gefunden" in body["answer"]


async def test_ask_filters_narrow_the_mail(client, runtime, box):
    await _mail(runtime, box, [CAR])
    response = await client.post(
        "/api/ai/ask",
        json={"question": "car service", "filters": {"from": "nobody@example.com"}},
        headers=box.headers,
    )
    assert response.json()["citations"] == []
    response = await client.post(
        "/api/ai/ask",
        json={"question": "car service", "filters": {"date_from": "yesterday"}},
        headers=box.headers,
    )
    assert_error(response, 400, "VAL007")


def _events(text):
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if not line.startswith(":")
        )
        if fields:
            events.append((fields["event"], orjson.loads(fields["data"])))
    return events


async def test_ask_streams_server_sent_events(client, runtime, box):
    await _mail(runtime, box, [CAR, BAKE, TAX])
    whole = (
        await client.post("/api/ai/ask", json={"question": "car service"}, headers=box.headers)
    ).json()
    for extra in ({"headers": {"Accept": "text/event-stream"}}, {"params": {"stream": "1"}}):
        headers = {**box.headers, **extra.get("headers", {})}
        response = await client.post(
            "/api/ai/ask",
            json={"question": "car service"},
            headers=headers,
            params=extra.get("params"),
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response.text)
        names = [name for name, _ in events]
        assert names[-2:] == ["citations", "done"] and set(names[:-2]) == {"answer"}
        assert (
            "".join(data["delta"] for name, data in events if name == "answer") == (whole["answer"])
        )
        assert events[-2][1] == whole["citations"] and events[-1][1] == {"mode": "extractive"}


async def test_search_rate_limit_is_rate001(runtime):
    limited = runtime_with(runtime, rate_limit_search="3/min")
    async with make_client(app_for(limited)) as client:
        box = await make_box(limited, client)
        for _ in range(3):
            assert (await _search(client, box, "x", mode="keyword"))["items"] == []
        response = await client.get("/api/search", params={"q": "x"}, headers=box.headers)
        error = assert_error(response, 429, "RATE001")
        assert error["details"]["limit"] == "search" and error["details"]["retryAfter"] >= 1
        assert int(response.headers["Retry-After"]) >= 1


async def test_cached_results_are_dropped_when_mail_arrives(client, runtime, box):
    await _mail(runtime, box, [("Zebra crossing", "first")], embedded=False)
    first = await _search(client, box, "zebra", mode="keyword")
    assert len(first["items"]) == 1
    # Written behind the API's back: the cached answer is still served...
    await _mail(runtime, box, [("Zebra stripes", "second")], embedded=False)
    assert await _search(client, box, "zebra", mode="keyword") == first
    # ...until new mail arrives through ingest, which bumps the user's search generation.
    raw = b"From: z@example.com\r\nTo: b@example.com\r\nSubject: Zebra news\r\n\r\nthird\r\n"
    async with runtime.db.session() as s:
        await ingest_batch(
            s,
            runtime,
            account=box.account,
            folder=box.inbox,
            items=[IncomingMessage(raw=raw, uid=1, uidvalidity=1)],
        )
    found = await _search(client, box, "zebra", mode="keyword")
    assert {i["email"]["subject"] for i in found["items"]} == {
        "Zebra crossing",
        "Zebra stripes",
        "Zebra news",
    }


async def test_cached_results_are_dropped_when_mail_changes(client, runtime, box):
    (row,) = await _mail(runtime, box, [("Yak shaving", "x")], embedded=False)
    assert len((await _search(client, box, "yak is:unread", mode="keyword"))["items"]) == 1
    response = await client.patch(
        f"/api/emails/{row.id}", json={"is_read": True}, headers=box.headers
    )
    assert response.status_code == 200, response.text
    assert (await _search(client, box, "yak is:unread", mode="keyword"))["items"] == []
    async with runtime.db.session() as s:
        assert (await s.get(Message, row.id)).is_read
