"""Sentry receives server errors without personal data (a fake Sentry ingest server)."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.services import free_port

MAILMIND = str(Path(sys.executable).with_name("mailmind"))


class _Ingest(http.server.BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        return None


def test_sentry_gets_server_errors_without_credentials_or_bodies(tmp_path):
    ingest_port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", ingest_port), _Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api_port = free_port()
    dead_db = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    env = {
        **os.environ,
        "DATABASE_URL": dead_db,
        "MAILMIND_DATA_DIR": str(tmp_path),
        "SENTRY_DSN": f"http://publickey@127.0.0.1:{ingest_port}/1",
    }
    log = (tmp_path / "api.log").open("w")
    process = subprocess.Popen(
        [MAILMIND, "api", "--port", str(api_port)], env=env, stdout=log, stderr=log
    )
    try:
        base = f"http://127.0.0.1:{api_port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        response = httpx.post(
            f"{base}/api/auth/login",
            json={"email": "someone@example.com", "password": "hunter2-secret-passphrase"},
            headers={"Authorization": "Bearer sensitive-token-value", "Cookie": "mm_refresh=abc"},
            timeout=30,
        )
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "SRV006"
        deadline = time.monotonic() + 15
        while not _Ingest.received and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(20)
        server.shutdown()
        server.server_close()
        log.close()
    assert _Ingest.received, (tmp_path / "api.log").read_text()
    payload = b"\n".join(_Ingest.received).decode(errors="replace")
    assert "database_error" in payload or "OperationalError" in payload
    for secret in ("hunter2-secret-passphrase", "sensitive-token-value", "mm_refresh=abc"):
        assert secret not in payload
    events = [json.loads(line) for line in payload.splitlines() if line.startswith("{")]
    assert any(e.get("level") == "error" or e.get("type") == "event" for e in events)
