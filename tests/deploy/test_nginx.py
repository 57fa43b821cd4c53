"""The nginx configurations run for real: deploy/nginx/mailmind.conf, docker/frontend/nginx.conf.

Each test starts Debian's nginx on loopback ports with a copy of a configuration whose addresses
point at small stand-in backends, then talks HTTP(S) and WebSocket upgrades to it.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
OPENSSL = shutil.which("openssl")

pytestmark = pytest.mark.skipif(
    NGINX is None or OPENSSL is None,
    reason="nginx and openssl are needed (apt-get install nginx-light)",
)

SPEC_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: https:; frame-src 'self' blob:; object-src 'none'; "
    "frame-ancestors 'none'"
)


class _Backend(socketserver.ThreadingTCPServer):
    """Answers any request with a JSON echo of what it received; accepts WebSocket upgrades."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(("127.0.0.1", 0), _EchoHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _EchoHandler(socketserver.StreamRequestHandler):
    server: _Backend

    def handle(self) -> None:
        while True:
            request_line = self.rfile.readline().decode("latin-1").strip()
            if not request_line:
                return
            headers: dict[str, str] = {}
            while (line := self.rfile.readline().decode("latin-1").strip()) != "":
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if length:
                self.rfile.read(length)
            method, path, _ = request_line.split(" ", 2)
            if headers.get("upgrade", "").lower() == "websocket":
                self.wfile.write(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nX-Backend: " + self.server.name.encode() + b"\r\n\r\n"
                )
                self.wfile.write(json.dumps(headers).encode() + b"\n")
                self.wfile.flush()
                return
            body = json.dumps(
                {"backend": self.server.name, "method": method, "path": path, "headers": headers}
            ).encode()
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Strict-Transport-Security: max-age=60\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            self.wfile.flush()


@pytest.fixture
def backends() -> Iterator[list[_Backend]]:
    servers = [_Backend(f"api-{i}") for i in range(3)] + [_Backend("web")]
    for server in servers:
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"nginx exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nginx did not listen on {port}")


def _start_nginx(workdir: Path, site_conf: str, ports: list[int]) -> subprocess.Popen[bytes]:
    (workdir / "logs").mkdir()
    (workdir / "site.conf").write_text(site_conf)
    # Workers of a root master run as nobody unless told otherwise; they must read the temp dir.
    user = "user root;" if os.geteuid() == 0 else ""
    (workdir / "nginx.conf").write_text(
        f"""
        {user}
        worker_processes 1;
        pid {workdir}/nginx.pid;
        error_log {workdir}/logs/error.log;
        events {{ worker_connections 64; }}
        http {{
            include /etc/nginx/mime.types;
            access_log {workdir}/logs/access.log;
            client_body_temp_path {workdir}/body;
            proxy_temp_path {workdir}/proxy;
            include {workdir}/site.conf;
        }}
        """
    )
    assert NGINX is not None
    proc = subprocess.Popen(
        [
            NGINX,
            "-p",
            str(workdir),
            "-e",
            f"{workdir}/logs/error.log",
            "-c",
            str(workdir / "nginx.conf"),
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for port in ports:
            _wait_for_port(port, proc)
    except AssertionError:
        proc.kill()
        raise
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stderr:
        proc.stderr.close()


def _websocket_upgrade(sock: socket.socket, host: str) -> tuple[str, dict[str, str]]:
    sock.sendall(
        f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "X-Request-ID: ws-req-1\r\n\r\n".encode()
    )
    data = b""
    while data.count(b"\n") < 2 or not data.rstrip().endswith(b"}"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode().splitlines()[0], json.loads(rest.decode().strip().splitlines()[-1])


# ---- docker/frontend/nginx.conf ------------------------------------------------------------------


@pytest.fixture
def frontend(tmp_path: Path, backends: list[_Backend]) -> Iterator[int]:
    html = tmp_path / "html"
    (html / "assets").mkdir(parents=True)
    (html / "index.html").write_text("<!doctype html><div id=root></div>")
    (html / "assets" / "app-3f9a.js").write_text("console.log('mailmind')")
    port = _free_port()
    conf = (REPO / "docker/frontend/nginx.conf").read_text()
    conf = conf.replace("${MAILMIND_BACKEND}", f"127.0.0.1:{backends[0].port}")
    conf = conf.replace("listen 3000;", f"listen 127.0.0.1:{port};")
    conf = conf.replace("/usr/share/nginx/html", str(html))
    proc = _start_nginx(tmp_path, conf, [port])
    yield port
    _stop(proc)


@dataclass
class _Response:
    status: int
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


def _fetch(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> _Response:
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return _Response(response.status, response.msg, response.read())
    finally:
        conn.close()


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> _Response:
    return _fetch(http.client.HTTPConnection("127.0.0.1", port, timeout=5), path, headers or {})


def _insecure_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _https(port: int, path: str) -> _Response:
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=_insecure_context())
    return _fetch(conn, path, {"Host": "mailmind.example.com"})


def test_frontend_serves_index_for_client_side_routes_with_spec_headers(frontend: int) -> None:
    response = _get(frontend, "/mail/inbox/5b0c")

    assert response.status == 200
    assert b"id=root" in response.body
    assert response.header("Content-Security-Policy") == SPEC_CSP
    assert response.header("X-Frame-Options") == "DENY"
    assert response.header("X-Content-Type-Options") == "nosniff"
    assert response.header("Referrer-Policy") == "no-referrer"
    assert response.header("X-XSS-Protection") == "0"
    assert response.header("Cache-Control") == "no-cache"


def test_frontend_caches_hashed_assets_for_a_year(frontend: int) -> None:
    response = _get(frontend, "/assets/app-3f9a.js")

    assert response.status == 200
    assert response.header("Cache-Control") == "max-age=31536000"
    assert response.header("Content-Security-Policy") == SPEC_CSP


def test_frontend_missing_asset_is_404_not_index(frontend: int) -> None:
    # try_files falls back to index.html only for paths without a file; a dotfile is refused.
    assert _get(frontend, "/.env").status == 404


def test_frontend_forwards_api_with_request_id_and_client_address(
    frontend: int, backends: list[_Backend]
) -> None:
    echoed = _get(frontend, "/api/emails?limit=5", {"X-Request-ID": "req-42"}).json()
    generated = _get(frontend, "/api/emails").json()

    assert echoed["backend"] == backends[0].name
    assert echoed["path"] == "/api/emails?limit=5"
    assert echoed["headers"]["x-request-id"] == "req-42"
    assert echoed["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert echoed["headers"]["x-forwarded-proto"] == "http"
    assert re.fullmatch(r"[0-9a-f]{32}", generated["headers"]["x-request-id"])


def test_frontend_upgrades_websocket(frontend: int) -> None:
    with socket.create_connection(("127.0.0.1", frontend), timeout=5) as sock:
        status, seen = _websocket_upgrade(sock, "localhost")

    assert status.startswith("HTTP/1.1 101")
    assert seen["upgrade"] == "websocket"
    assert seen["connection"].lower() == "upgrade"
    assert seen["x-request-id"] == "ws-req-1"


def test_frontend_healthz(frontend: int) -> None:
    response = _get(frontend, "/healthz")
    assert (response.status, response.body) == (200, b"ok\n")


# ---- deploy/nginx/mailmind.conf ------------------------------------------------------------------


@pytest.fixture
def edge(tmp_path: Path, backends: list[_Backend]) -> Iterator[tuple[int, int]]:
    tls = tmp_path / "tls"
    tls.mkdir()
    assert OPENSSL is not None
    subprocess.run(
        [
            OPENSSL,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=mailmind.example.com",
            "-keyout",
            str(tls / "privkey.pem"),
            "-out",
            str(tls / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )
    https_port, http_port = _free_port(), _free_port()
    conf = (REPO / "deploy/nginx/mailmind.conf").read_text()
    api_servers = re.findall(r"server 10\.0\.1\.\d+:9000", conf)
    assert len(api_servers) == 3
    for stub, line in zip(backends[:3], api_servers, strict=True):
        conf = conf.replace(line, f"server 127.0.0.1:{stub.port}")
    conf = conf.replace("server 127.0.0.1:3000;", f"server 127.0.0.1:{backends[3].port};")
    conf = conf.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    conf = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", conf)
    conf = conf.replace("/etc/ssl/mailmind/", f"{tls}/")
    conf = conf.replace("/var/log/nginx/", f"{tmp_path}/logs/")
    conf = conf.replace("/var/www/acme", str(tmp_path / "acme"))
    proc = _start_nginx(tmp_path, conf, [https_port, http_port])
    yield https_port, http_port
    _stop(proc)


def test_edge_redirects_http_to_https(edge: tuple[int, int]) -> None:
    _, http_port = edge
    response = _get(http_port, "/mail/inbox?x=1", {"Host": "mailmind.example.com"})

    assert response.status == 301
    assert response.header("Location") == "https://mailmind.example.com/mail/inbox?x=1"


def test_edge_spreads_api_requests_over_all_replicas_with_proxy_headers(
    edge: tuple[int, int], backends: list[_Backend]
) -> None:
    https_port, _ = edge
    seen = [_https(https_port, f"/api/emails?n={i}").json() for i in range(9)]

    assert {item["backend"] for item in seen} == {stub.name for stub in backends[:3]}
    headers = seen[0]["headers"]
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["host"] == "mailmind.example.com"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])


def test_edge_sends_exactly_one_hsts_header(edge: tuple[int, int]) -> None:
    https_port, _ = edge
    # The stand-in backend sends its own HSTS header, as MailMind does in production.
    response = _https(https_port, "/api/settings")

    assert response.status == 200
    assert response.headers.get_all("Strict-Transport-Security") == ["max-age=31536000"]


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"]
)
def test_edge_speaks_tls_1_2_and_1_3(edge: tuple[int, int], version: ssl.TLSVersion) -> None:
    https_port, _ = edge
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = version
    context.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", https_port), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        assert tls.version() == version.name.replace("v1_", "v1.")


def test_edge_upgrades_websocket_on_ws(edge: tuple[int, int], backends: list[_Backend]) -> None:
    https_port, _ = edge
    with (
        socket.create_connection(("127.0.0.1", https_port), timeout=5) as raw,
        _insecure_context().wrap_socket(raw) as tls,
    ):
        status, seen = _websocket_upgrade(tls, "mailmind.example.com")

    assert status.startswith("HTTP/1.1 101")
    assert seen["upgrade"] == "websocket"
    assert seen["connection"].lower() == "upgrade"
    assert seen["x-forwarded-proto"] == "https"
    assert seen["x-request-id"] == "ws-req-1"


def test_edge_sends_other_paths_to_the_web_client(
    edge: tuple[int, int], backends: list[_Backend]
) -> None:
    https_port, _ = edge
    seen = _https(https_port, "/settings/accounts").json()
    assert seen["backend"] == backends[3].name


def test_check_nginx_script_accepts_both_configurations() -> None:
    result = subprocess.run(
        ["bash", str(REPO / "scripts/check-nginx.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(": ok") == 2


def test_edge_balances_the_api_with_least_conn_over_port_9000() -> None:
    conf = (REPO / "deploy/nginx/mailmind.conf").read_text()
    block = re.search(r"upstream mailmind_backend \{(.*?)\}", conf, flags=re.S)
    assert block is not None
    assert re.search(r"^\s*least_conn;", block[1], flags=re.M)
    servers = re.findall(r"^\s*server (\S+?)(?: |;)", block[1], flags=re.M)
    assert len(servers) >= 2
    assert all(server.endswith(":9000") for server in servers)
