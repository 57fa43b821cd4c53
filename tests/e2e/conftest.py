"""The web client end to end: ``mailmind serve`` as a subprocess (API, worker and the built web
client on one port) on its own database, driven by Playwright through Debian's Chromium, with
the test Dovecot as the users' mail server, an aiosmtpd submission server (STARTTLS + AUTH) for
their outgoing mail and the session's plain aiosmtpd as the system mailer (verification mails).

The server lives for this package only: its worker and sync watchers must not outlive it into
the in-process tests, which empty the session's tables after each test.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest
import redis
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Response,
    expect,
    sync_playwright,
)

from tests.conftest import PASSWORD, ROOT
from tests.live import LiveProcess, cli_env, running
from tests.mailservers import DovecotServer, MailUser
from tests.services import RedisServer, SMTPServer, free_port
from tests.submission import SubmissionServer

WEB = ROOT / "web"
DIST = WEB / "dist"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
# Debian's chromium (scripts/test-deps.sh), headless; no sandbox since the tests may run as root.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Long enough for a sync on two busy cores; every wait ends as soon as its condition holds.
TIMEOUT_MS = 20_000
REDIS_DATABASE = 12
_numbers = itertools.count(1)
expect.set_options(timeout=TIMEOUT_MS)


# --------------------------------------------------------------------------------------------
# the server


def _build_web_client() -> None:
    """``npm run build`` (``make test`` has built it before pytest already)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("web/dist is missing and npm is not installed: install Node.js 20+")
    if not (WEB / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
    subprocess.run([npm, "run", "build"], cwd=WEB, check=True, stdout=subprocess.DEVNULL)


def _dist_is_stale() -> bool:
    index = DIST / "index.html"
    if not index.is_file():
        return True
    built = index.stat().st_mtime
    sources = [WEB / "index.html", WEB / "package.json", WEB / "vite.config.ts"]
    sources += [path for folder in ("src", "public") for path in (WEB / folder).rglob("*")]
    return any(path.is_file() and path.stat().st_mtime > built for path in sources)


@pytest.fixture(scope="package")
def web_dist() -> Path:
    """The built client, rebuilt when a source is newer (the tests check what users get)."""
    if _dist_is_stale():
        _build_web_client()
    return DIST


@pytest.fixture(scope="package")
def e2e_database(pg_admin_url: str) -> Iterator[str]:
    """A database of its own, migrated by ``mailmind serve`` itself; dropped afterwards."""
    name = f"e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(pg_admin_url)
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(scope="package")
def submission(dovecot: DovecotServer) -> Iterator[SubmissionServer]:
    """The users' outgoing mail server: STARTTLS with Dovecot's certificate, then AUTH."""
    certs = dovecot.certificates
    server = SubmissionServer(certfile=str(certs.cert_file), keyfile=str(certs.key_file))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    web_dist: Path,
    e2e_database: str,
    redis_server: RedisServer,
    smtp_server: SMTPServer,
    dovecot: DovecotServer,
) -> Iterator[LiveProcess]:
    """``mailmind serve`` on 127.0.0.1 serving web/dist, migrations applied at start."""
    client = redis.Redis(port=redis_server.port, password=redis_server.password, db=REDIS_DATABASE)
    client.flushdb()  # throttles and revocations of an earlier run
    client.close()
    base = tmp_path_factory.mktemp("e2e-server")
    port = free_port()
    env = cli_env(
        base / "data",
        DATABASE_URL=e2e_database,
        REDIS_URL=f"redis://127.0.0.1:{redis_server.port}/{REDIS_DATABASE}",
        REDIS_PASSWORD=redis_server.password,
        PORT=str(port),
        API_URL=f"http://127.0.0.1:{port}",
        ALLOW_REGISTRATION="true",
        # Verification mails go out (and sign-in waits for them) when a system mailer is set.
        SYSTEM_SMTP_URL=smtp_server.url,
        MAIL_CA_FILE=dovecot.ca_file,
        SYNC_POLL_INTERVAL="10",
        # A handful of messages: parsed in the worker, without starting a parser process.
        INGEST_PROCESSES="0",
        LOG_LEVEL="INFO",
    )
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    # On busy cores the server needs 10-15 s to stop after uvicorn is done (its worker and sync
    # watchers), more while a pipeline job loads the local embedding model.
    yield from running(request, args, env, base / "log", port, timeout=90, stop_timeout=60)


# --------------------------------------------------------------------------------------------
# users, accounts and mail through the API


@dataclass
class User:
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """The live server's API, as the tests' own client (set-up and checks of server state)."""

    def __init__(self, server: LiveProcess, smtp_server: SMTPServer) -> None:
        self.base_url = server.base_url
        self.http = httpx.Client(base_url=server.base_url, timeout=30)
        self.system_mail = smtp_server.mailbox

    def verification_link(self, email: str) -> str:
        """The link of the verification mail the system mailer sent to ``email``."""
        mails = self.system_mail.to(email)
        assert mails, f"no verification mail to {email}"
        body = mails[-1].get_payload(decode=True)
        assert isinstance(body, bytes)
        match = re.search(r"https?://\S+verify-email\?token=\S+", body.decode())
        assert match, body
        return match.group(0)

    def register(self, email: str, password: str = PASSWORD) -> None:
        response = self.http.post(
            "/api/auth/register",
            json={"email": email, "password": password, "full_name": "E2E", "accept_terms": True},
        )
        assert response.status_code == 202, response.text

    def login(self, email: str, password: str = PASSWORD) -> User:
        response = self.http.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return User(email, password, response.json()["access_token"])

    def new_user(self) -> User:
        """A registered, verified and signed-in user (verified through the mailed link)."""
        email = f"e2e-{next(_numbers)}-{uuid.uuid4().hex[:6]}@example.com"
        self.register(email)
        wait_for(lambda: self.system_mail.to(email), "the verification mail")
        # The mailed link opens the client's page, which confirms through this API call.
        token = parse_qs(urlsplit(self.verification_link(email)).query)["token"][0]
        response = self.http.get("/api/auth/verify-email", params={"token": token})
        assert response.status_code == 200, response.text
        user = self.login(email)
        # The client shows no AI yet; off, the local model is not loaded on two busy cores.
        response = self.http.patch(
            "/api/settings", json={"ai": {"enabled": False}}, headers=user.headers
        )
        assert response.status_code == 200, response.text
        return user

    def add_account(self, user: User, mailbox: Mailbox) -> dict[str, Any]:
        response = self.http.post(
            "/api/accounts", json=mailbox.account_body(), headers=user.headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def get(self, user: User, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params, headers=user.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def emails(self, user: User, **filters: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get(user, "/api/emails", limit=100, **filters)["items"]
        return items

    def folders(self, user: User) -> dict[str, dict[str, Any]]:
        """The user's folders by role (the first of each role)."""
        found: dict[str, dict[str, Any]] = {}
        for folder in self.get(user, "/api/folders"):
            found.setdefault(folder["role"], folder)
        return found

    def wait_for_emails(
        self, user: User, count: int, *, what: str = "", **filters: Any
    ) -> list[dict[str, Any]]:
        """The user's messages once ``count`` of them match ``filters`` (synced)."""
        found: list[dict[str, Any]] = []

        def enough() -> bool:
            found[:] = self.emails(user, **filters)
            return len(found) >= count

        wait_for(enough, what or f"{count} messages with {filters}")
        return found

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="package")
def api(server: LiveProcess, smtp_server: SMTPServer) -> Iterator[Api]:
    client = Api(server, smtp_server)
    try:
        yield client
    finally:
        client.close()


def wait_for(
    condition: Callable[[], Any],
    what: str,
    timeout: float = TIMEOUT_MS / 1000,
    interval: float = 0.5,
) -> Any:
    """Poll ``condition`` until it is truthy; fail naming ``what`` after ``timeout`` seconds.

    Twice a second: a condition that asks the API counts against the user's rate limit
    (RATE_LIMIT_API, 100/min), which the browser shares."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


@dataclass
class Mailbox:
    """A Dovecot mailbox whose SMTP login (on the submission server) is the same."""

    dovecot: DovecotServer
    submission: SubmissionServer
    login: MailUser

    @property
    def address(self) -> str:
        return f"{self.login.username}@example.org"

    def account_body(self) -> dict[str, Any]:
        return {
            "kind": "imap",
            "email": self.address,
            "display_name": "Work",
            "imap": {
                "host": "127.0.0.1",
                "port": self.dovecot.imaps_port,
                "security": "ssl",
                "username": self.login.username,
            },
            "smtp": {
                "host": "127.0.0.1",
                "port": self.submission.port,
                "security": "starttls",
                "username": self.login.username,
            },
            "password": self.login.password,
        }

    def deliver(
        self,
        subject: str,
        *,
        text: str | None = None,
        html: str | None = None,
        sender: str = "Ada Lovelace <ada@example.net>",
        folder: str = "INBOX",
        date: datetime | None = None,
    ) -> str:
        """A message to this mailbox APPENDed to ``folder``; returns its Message-ID."""
        message = EmailMessage()
        message["From"] = sender
        message["To"] = self.address
        message["Subject"] = subject
        date = date or datetime.now(UTC)
        message["Date"] = format_datetime(date)
        message["Message-ID"] = make_msgid(domain="example.net")
        message.set_content(text or f"Hello,\n\nthis is {subject}.\n")
        if html is not None:
            message.add_alternative(html, subtype="html")
        self.dovecot.deliver(self.login, folder, message.as_bytes(), date=date)
        return str(message["Message-ID"])


@pytest.fixture
def mailbox(dovecot: DovecotServer, submission: SubmissionServer) -> Mailbox:
    login = dovecot.add_user()
    submission.logins[login.username] = login.password
    return Mailbox(dovecot, submission, login)


# --------------------------------------------------------------------------------------------
# the browser


@pytest.fixture(autouse=True)
def _clean() -> None:
    """Replaces the session's table cleaner: these tests use their own database, and an async
    fixture cannot run while Playwright's synchronous driver holds the thread's event loop."""


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is missing: run scripts/test-deps.sh (make test does)")
    browser = playwright.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class Watched:
    """What a page did that a test may assert on."""

    page_errors: list[str]
    missing: list[str]  # the client's own files (not API calls) that answered an error


@pytest.fixture
def context(browser: Browser, server: LiveProcess) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=server.base_url, viewport={"width": 1440, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def watched() -> Watched:
    return Watched([], [])


@pytest.fixture
def page(context: BrowserContext, watched: Watched) -> Iterator[Page]:
    """A tab of a fresh browser profile; an uncaught script error, or a file of the client that
    is not there (a 4xx/5xx outside /api and /ws), fails the test."""

    def on_response(response: Response) -> None:
        path = urlsplit(response.url).path
        if response.status >= 400 and not path.startswith(("/api/", "/ws")):
            watched.missing.append(f"{response.status} {response.url}")

    page = context.new_page()
    page.on("pageerror", lambda error: watched.page_errors.append(str(error)))
    page.on("response", on_response)
    yield page
    assert not watched.page_errors, f"uncaught errors in the page: {watched.page_errors}"
    assert not watched.missing, f"the client asked for files that are not there: {watched.missing}"


def sign_in(page: Page, user: User) -> None:
    """Through the login form, to the inbox."""
    page.goto("/login")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/mail/inbox")


def row(page: Page, subject: str) -> Any:
    """The list row of the message with ``subject``."""
    return page.get_by_role("option").filter(has_text=subject)
