"""The web client's budget: initial JavaScript, the inbox of a 20,000-message mailbox after
signing in, and opening a message — in Debian's Chromium through Playwright, over loopback.

Starts the same stack as bench/api.py (a temporary embedded PostgreSQL, Redis on a free port and
``mailmind api`` serving the built client from web/dist), fills one user's INBOX with
``--messages`` messages whose subjects, senders and bodies come from the SpamAssassin ham corpus
(scripts/test-corpora.sh), each with its AI results and its own conversation, and measures:

* initial JavaScript: the gzip size of what the first visit loads (web/scripts/size.mjs);
* inbox: from the click on "Sign in" to the first rows of the inbox on screen, a fresh browser
  profile per run (the login page, and with it the entry bundle, already loaded);
* opening a message: from the click on a row to its text in the reading pane, one row after
  another in the same tab (each message is opened for the first time).

Times are taken inside the page (``performance.now()`` at the click, a MutationObserver for the
result), so Playwright's own round trips are not counted.

    .venv/bin/python bench/web.py [--messages 20000] [--runs 7] [--opens 15] [--write]

``--write`` rewrites the "Web client" section of bench/RESULTS.md (other sections are kept).
The client is built first when web/dist is missing (``--build`` rebuilds it).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from results import write_section  # bench/results.py (the script's own folder)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mailmind.message.parse import parse_message  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Web client"
WEB = ROOT / "web"
DIST = WEB / "dist"
CORPUS = ROOT / ".cache" / "corpora" / "spam-assassin-0.2.3" / "data"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TARGET_JS_KB = 250.0
TARGET_INBOX_MS = 1500.0
TARGET_OPEN_MS = 200.0
CATEGORIES = ("personal", "work", "newsletter", "notification", "promotions")


def _load_api_bench() -> Any:
    """bench/api.py's stack (PostgreSQL, Redis, ``mailmind api``) and helpers."""
    spec = importlib.util.spec_from_file_location("bench_api", ROOT / "bench" / "api.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("bench/api.py is missing")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_api"] = module
    spec.loader.exec_module(module)
    return module


api = _load_api_bench()
log = api.log


# --------------------------------------------------------------------------- the mailbox


def corpus_samples(limit: int) -> list[dict[str, Any]]:
    """Subject, sender and body of the corpus's ham messages."""
    files = sorted(p for group in ("easy-ham-1", "easy-ham-2") for p in (CORPUS / group).glob("*"))
    if not files:
        raise api.BenchError(f"{CORPUS} is empty: run scripts/test-corpora.sh")
    samples = []
    for path in files[:limit]:
        parsed = parse_message(path.read_bytes())
        body = parsed.body_text.strip() or "(no text)"
        samples.append(
            {
                "subject": parsed.subject or "(no subject)",
                "name": parsed.sender.name if parsed.sender else "",
                "address": parsed.sender.address if parsed.sender else "someone@example.com",
                "body": body[:20_000],
                "size": path.stat().st_size,
            }
        )
    return samples


def fill_inbox(database_url: str, email: str, count: int, seed: int) -> list[dict[str, Any]]:
    """An account with an INBOX of ``count`` messages for the user ``email``; returns the rows
    (newest first) with the text the reading pane will show."""
    import psycopg
    from psycopg.types.json import Jsonb

    rng = random.Random(seed)
    samples = corpus_samples(2500)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    with psycopg.connect(database_url, autocommit=False) as conn:
        user_id = conn.execute("SELECT id FROM users WHERE email = %s", (email,)).fetchone()[0]
        account_id, inbox_id = uuid.uuid4(), uuid.uuid4()
        conn.execute(
            "INSERT INTO mail_accounts (id, user_id, kind, email) VALUES (%s, %s, 'imap', %s)",
            (account_id, user_id, "bench@example.com"),
        )
        conn.execute(
            "INSERT INTO folders (id, account_id, user_id, name, path, role, uidvalidity, "
            "total_count, unread_count) VALUES (%s, %s, %s, 'INBOX', 'INBOX', 'inbox', 1, %s, 0)",
            (inbox_id, account_id, user_id, count),
        )
        threads, messages = [], []
        unread = 0
        for n in range(count):
            sample = samples[n % len(samples)]
            date = now - timedelta(minutes=7 * n + rng.randint(0, 6))
            thread_id, message_id = uuid.uuid4(), uuid.uuid4()
            token = f"mm{n:06d}"
            # The token opens the text (and so the list's preview): the reading pane is done
            # when it shows this message's token.
            body = f"{token} {sample['body']}"
            is_read = rng.random() > 0.1
            unread += not is_read
            priority = rng.randint(0, 100)
            band = "high" if priority >= 70 else "medium" if priority >= 40 else "low"
            threads.append(
                (thread_id, user_id, account_id, sample["subject"], sample["subject"].lower(),
                 date, date, 1, 0 if is_read else 1)
            )  # fmt: skip
            messages.append(
                (message_id, user_id, account_id, inbox_id, thread_id, n + 1, 1,
                 f"<{token}@bench.example>", f"<{token}@bench.example>", sample["subject"],
                 sample["name"], sample["address"],
                 Jsonb([{"name": "Bench", "address": "bench@example.com"}]), date, date,
                 sample["size"], " ".join(body.split())[:200], body, body, is_read,
                 rng.random() < 0.05, rng.choice(CATEGORIES), 0.9, priority, band, "done")
            )  # fmt: skip
            rows.append({"id": str(message_id), "subject": sample["subject"], "token": token})
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO threads (id, user_id, account_id, subject, normalized_subject, "
                "first_message_at, last_message_at, message_count, unread_count) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                threads,
            )
            cur.executemany(
                "INSERT INTO messages (id, user_id, account_id, folder_id, thread_id, uid, "
                "uidvalidity, message_id_header, dedupe_key, subject, sender_name, "
                "sender_address, to_addrs, date, received_at, size, preview, body_text, "
                "body_new_text, is_read, is_starred, category, category_confidence, priority, "
                "priority_band, ai_status) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                messages,
            )
        conn.execute("UPDATE folders SET unread_count = %s WHERE id = %s", (unread, inbox_id))
        conn.commit()
        conn.execute("ANALYZE")
    return rows


# --------------------------------------------------------------------------- the browser

# Records when the first list row and a given text in the reading pane appear.
WATCH = """
() => {
  window.__mm = { click: null, rows: null, opened: null, want: null };
  document.addEventListener('click', () => { window.__mm.click = performance.now(); }, true);
  new MutationObserver(() => {
    const mm = window.__mm;
    if (mm.rows === null && document.querySelector('[role=option]')) mm.rows = performance.now();
    if (mm.want && mm.opened === null) {
      const body = document.querySelector('.reader .mail-text');
      if (body && body.textContent.includes(mm.want)) mm.opened = performance.now();
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
}
"""


def measure_inbox(browser: Any, base_url: str, email: str, password: str) -> float:
    context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(password)
        page.evaluate(WATCH)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_function("() => window.__mm.rows !== null", timeout=60_000)
        return float(page.evaluate("window.__mm.rows - window.__mm.click"))
    finally:
        context.close()


def measure_opens(
    browser: Any, base_url: str, email: str, password: str, opens: int
) -> list[float]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_selector("[role=option]", timeout=60_000)
        page.evaluate(WATCH)
        times = []
        for index in range(1, opens + 1):  # the first row may already be open
            row = page.locator("[role=option]").nth(index)
            token = re.search(r"mm\d{6}", row.inner_text())
            if token is None:
                raise api.BenchError(f"row {index} shows no token: {row.inner_text()!r}")
            page.evaluate(
                "(want) => Object.assign(window.__mm, {want, opened: null, click: null})",
                token.group(0),
            )
            row.click()
            page.wait_for_function("() => window.__mm.opened !== null", timeout=30_000)
            times.append(float(page.evaluate("window.__mm.opened - window.__mm.click")))
        return times
    finally:
        context.close()


# --------------------------------------------------------------------------- main


def initial_js_kb() -> tuple[float, str]:
    done = subprocess.run(
        ["node", "scripts/size.mjs"], cwd=WEB, capture_output=True, text=True, check=False
    )
    match = re.search(r"([\d.]+) kB\s+initial JS", done.stdout)
    if match is None:
        raise api.BenchError(f"web/scripts/size.mjs printed no total:\n{done.stdout}{done.stderr}")
    return float(match.group(1)), done.stdout.rstrip()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def render(args: argparse.Namespace, figures: dict[str, Any], facts: dict[str, str]) -> str:
    js, inbox, opens = figures["js_kb"], figures["inbox_ms"], figures["open_ms"]

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**missed**"

    inbox_median, open_median = statistics.median(inbox), statistics.median(opens)
    lines = [
        SECTION,
        "",
        f"Debian's Chromium (headless) through Playwright against `mailmind api` over loopback, "
        f"one user with {figures['messages']:,} messages in INBOX (subjects, senders and bodies "
        "of the SpamAssassin ham corpus, AI results filled in). Written by "
        "`.venv/bin/python bench/web.py --write`.",
        "",
        "| measure | median | p90 | runs | target | |",
        "| --- | ---: | ---: | --- | ---: | --- |",
        f"| initial JavaScript (gzip) | {js:.1f} kB | | | ≤ {TARGET_JS_KB:.0f} kB | "
        f"{verdict(js <= TARGET_JS_KB)} |",
        f'| inbox after "Sign in" (fresh profile) | {inbox_median:.0f} ms | '
        f"{percentile(inbox, 0.9):.0f} ms | {' · '.join(f'{v:.0f}' for v in inbox)} | "
        f"≤ {TARGET_INBOX_MS:.0f} ms | {verdict(inbox_median <= TARGET_INBOX_MS)} |",
        f"| opening a message | {open_median:.0f} ms | {percentile(opens, 0.9):.0f} ms | "
        f"{' · '.join(f'{v:.0f}' for v in opens)} | ≤ {TARGET_OPEN_MS:.0f} ms | "
        f"{verdict(open_median <= TARGET_OPEN_MS)} |",
        "",
        'Inbox: from the click on "Sign in" (the login page and the entry bundle already '
        "loaded) to the first row of the list in the page: the login request, the lazy mail "
        "chunk, `/api/auth/me`, accounts, folders and the first page of the list. Opening: from "
        "the click on a row to the message's text in the reading pane (its conversation fetched "
        "from the API); each row opened once. Both timed in the page with `performance.now()`.",
        "",
        "Initial JavaScript (web/scripts/size.mjs):",
        "",
        "```",
        figures["js_report"],
        "```",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()) + ".",
        "",
        f"Code measured: {figures['code']}.",
    ]
    if args.label:
        lines += ["", f"**Note:** {args.label}"]
    return "\n".join(lines) + "\n"


def write_results(section: str) -> None:
    """Replace the "Web client" section of RESULTS.md, keeping every other section."""
    written = write_section(SECTION, section)
    log(f"wrote {written.relative_to(ROOT)}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7, help="sign-ins measured")
    parser.add_argument("--opens", type=int, default=15, help="messages opened")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--build", action="store_true", help="rebuild web/dist first")
    parser.add_argument("--write", action="store_true", help="rewrite the Web client section")
    parser.add_argument("--label", help="a note written under the results")
    args = parser.parse_args(argv)
    if args.messages < 100 or args.runs < 1 or args.opens < 1:
        parser.error("--messages must be at least 100, --runs and --opens at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("chromium") is None:
        raise SystemExit("chromium is missing: run scripts/test-deps.sh (make test-deps)")
    if args.build or not (DIST / "index.html").exists():
        log("building the web client")
        subprocess.run(["npm", "run", "build"], cwd=WEB, check=True, capture_output=True)
    js_kb, js_report = initial_js_kb()
    facts = api.machine_facts()
    for key in ("wrk", "redis"):
        facts.pop(key, None)
    from playwright.sync_api import sync_playwright

    code = api.code_version()
    with api.stack() as st:
        st.start_services()
        st.start_api(2, "WARNING")
        st.login()  # registers the user
        log(f"filling INBOX with {args.messages:,} messages")
        started = time.monotonic()
        fill_inbox(str(st.pg.get_uri("bench")), st.email, args.messages, args.seed)
        log(f"filled in {time.monotonic() - started:.1f} s")
        base_url = f"http://{api.HOST}:{st.api_port}"
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
            )
            try:
                measure_inbox(browser, base_url, st.email, api.PASSWORD)  # warm-up
                inbox = []
                for run in range(args.runs):
                    inbox.append(measure_inbox(browser, base_url, st.email, api.PASSWORD))
                    log(f"inbox run {run + 1}/{args.runs}: {inbox[-1]:.0f} ms")
                opens = measure_opens(browser, base_url, st.email, api.PASSWORD, args.opens)
                log(f"opens: {', '.join(f'{v:.0f}' for v in opens)} ms")
            finally:
                with contextlib.suppress(Exception):
                    browser.close()
    figures = {
        "messages": args.messages,
        "js_kb": js_kb,
        "js_report": js_report,
        "inbox_ms": inbox,
        "open_ms": opens,
        "code": code,
    }
    section = render(args, figures, facts)
    print(section)
    print(json.dumps({k: v for k, v in figures.items() if k != "js_report"}))
    if args.write:
        write_results(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
