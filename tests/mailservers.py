"""A real IMAP server for the mail tests: Debian's Dovecot with a private configuration, and a TCP
proxy that can drop a connection in the middle of a response.

Dovecot (``/usr/sbin/dovecot``, installed by ``scripts/test-deps.sh``) runs as the current user
(root or not) with everything under one temporary directory: configuration, sockets, a
passwd-file of users with plain passwords, maildir storage, a self-signed CA and server
certificate, and the log file. It listens on 127.0.0.1 on two free ports: IMAPS (implicit TLS)
and IMAP (STARTTLS offered, plain LOGIN allowed).
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple
from urllib.parse import parse_qs

from imapclient import IMAPClient

from tests.services import free_port

if TYPE_CHECKING:
    from mailmind.integrations.imap import ImapConfig

DOVECOT = "/usr/sbin/dovecot"
HOST = "127.0.0.1"
SPECIAL_FOLDERS = {
    "Drafts": "\\Drafts",
    "Sent": "\\Sent",
    "Trash": "\\Trash",
    "Junk": "\\Junk",
    "Archive": "\\Archive",
}


class MailUser(NamedTuple):
    """A Dovecot login; unpacks as ``(username, password)``."""

    username: str
    password: str


@dataclass(frozen=True)
class Certificates:
    """A CA and a server certificate it signed for ``localhost`` and ``127.0.0.1``."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _openssl(*args: str | Path) -> None:
    subprocess.run(
        ["openssl", *map(str, args)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def make_ca(directory: Path, name: str = "ca") -> tuple[Path, Path]:
    """A self-signed CA (EC P-256): ``(certificate, key)`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    _openssl(
        "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key, "-out", cert, "-days", "3650",
        "-subj", f"/CN=MailMind test {name} {uuid.uuid4().hex[:8]}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
    )  # fmt: skip
    return cert, key


def make_certificates(directory: Path) -> Certificates:
    """A fresh CA and a server certificate signed by it (valid for localhost and 127.0.0.1)."""
    ca_cert, ca_key = make_ca(directory)
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.crt"
    extensions = directory / "server.ext"
    extensions.write_text(
        "basicConstraints = critical,CA:FALSE\n"
        "keyUsage = critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectAltName = DNS:localhost,IP:127.0.0.1\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid,issuer\n"
    )
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=localhost",
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "825", "-extfile", extensions,
    )  # fmt: skip
    return Certificates(ca_file=ca_cert, cert_file=cert, key_file=key)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _mail_ids() -> tuple[int, int]:
    """The uid and gid that own the mail: ours, or an unprivileged system user's as root."""
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    entry = next(pwd.getpwnam(n) for n in ("dovecot", "nobody") if _user_exists(n))
    return entry.pw_uid, entry.pw_gid


def _config(
    directory: Path,
    certs: Certificates,
    *,
    imap_port: int,
    imaps_port: int,
) -> str:
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    login_user, (uid, gid) = user, _mail_ids()
    # Every service runs as the current user, without chroot (Dovecot's "rootless" set-up), so
    # the same configuration works as root and as an unprivileged user. The login process and
    # mail access refuse root, so as root they run as Debian's Dovecot users (or nobody).
    if os.geteuid() == 0:
        login_user = next(name for name in ("dovenull", "nobody") if _user_exists(name))
    mailboxes = "\n".join(
        f"  mailbox {name} {{\n    special_use = {flag}\n    auto = subscribe\n  }}"
        for name, flag in SPECIAL_FOLDERS.items()
    )
    return f"""\
base_dir = {directory}/run
state_dir = {directory}/state
instance_name = mailmind-test-{imaps_port}
protocols = imap
listen = {HOST}
log_path = {directory}/dovecot.log
info_log_path = {directory}/dovecot.log
debug_log_path = {directory}/dovecot.log

default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
last_valid_gid = {gid}

ssl = yes
ssl_cert = <{certs.cert_file}
ssl_key = <{certs.key_file}
ssl_min_protocol = TLSv1.2

# Plain LOGIN on the non-TLS port, for security="none" and the proxy tests.
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {directory}/users/%u
}}
# OAuth access tokens are checked against the harness's RFC 7662 introspection endpoint.
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {directory}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={directory}/home/%u
}}

mail_location = maildir:~/Maildir:LAYOUT=fs
mail_fsync = never
# Changes made by other connections reach IDLE within a second even without inotify.
mailbox_idle_check_interval = 1 secs
namespace inbox {{
  inbox = yes
  separator = /
{mailboxes}
}}

protocol imap {{
  mail_max_userip_connections = 200
}}

service imap-login {{
  chroot =
  inet_listener imap {{
    address = {HOST}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
service imap-hibernate {{
  chroot =
}}
"""


def _wait_for_greeting(port: int, deadline: float, *, tls: ssl.SSLContext | None) -> bool:
    while time.monotonic() < deadline:
        try:
            sock = socket.create_connection((HOST, port), timeout=2)
            try:
                if tls is not None:
                    sock = tls.wrap_socket(sock, server_hostname=HOST)
                if sock.recv(100).startswith(b"* OK"):
                    return True
            finally:
                sock.close()
        except OSError:
            pass
        time.sleep(0.05)
    return False


class _IntrospectionServer:
    """An OAuth 2.0 token introspection endpoint (RFC 7662) on a free loopback port: the
    answer Dovecot's oauth2 passdb asks for; ``tokens`` maps active tokens to user names."""

    def __init__(self, tokens: dict[str, str]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                token = (form.get("token") or [""])[0]
                user = tokens.get(token)
                answer = {"active": "true", "username": user} if user else {"active": "false"}
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{HOST}:{self._server.server_address[1]}/introspect"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class DovecotServer:
    """A private Dovecot instance (see the module docstring).

    ``imap_port`` speaks IMAP with STARTTLS, ``imaps_port`` implicit TLS; ``ca_file`` is the CA
    that signed the server certificate (pass it as ``ImapConfig.ca_file``)."""

    def __init__(self, directory: Path | None = None) -> None:
        if not os.access(DOVECOT, os.X_OK):
            raise RuntimeError(f"{DOVECOT} is missing: run scripts/test-deps.sh (make test does)")
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="mailmind-test-dovecot-"))
            self._owns_directory = True
        else:
            directory.mkdir(parents=True, exist_ok=True)
            self._owns_directory = False
        self.directory = directory
        # The login process runs as another user when we are root: it must reach run/.
        directory.chmod(0o711)
        self.imap_port = free_port()
        self.imaps_port = free_port()
        for sub in ("run", "state", "home", "users"):
            (directory / sub).mkdir(exist_ok=True)
            # Dovecot wants its base_dir world-readable (it holds the login sockets).
            (directory / sub).chmod(0o755 if sub == "run" else 0o711)
        uid, gid = _mail_ids()
        os.chown(directory / "home", uid, gid)
        self.certificates = make_certificates(directory / "tls")
        self.ca_file = str(self.certificates.ca_file)
        self._tokens: dict[str, str] = {}
        self._introspection = _IntrospectionServer(self._tokens)
        (directory / "oauth2.conf.ext").write_text(
            f"introspection_mode = post\n"
            f"introspection_url = {self._introspection.url}\n"
            "force_introspection = yes\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n"
        )
        self.config_file = directory / "dovecot.conf"
        self.config_file.write_text(
            _config(
                directory,
                self.certificates,
                imap_port=self.imap_port,
                imaps_port=self.imaps_port,
            )
        )
        self.log_file = directory / "dovecot.log"
        self._users: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start Dovecot in the foreground and wait until both ports greet."""
        if self.process is not None:
            return
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        context = self.ssl_context()
        ready = _wait_for_greeting(self.imap_port, deadline, tls=None) and _wait_for_greeting(
            self.imaps_port, deadline, tls=context
        )
        if not ready or self.process.poll() is not None:
            stderr = b""
            if self.process.poll() is None:
                self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                _, stderr = self.process.communicate(timeout=5)
            self.process = None
            raise RuntimeError(
                "dovecot did not start: " + stderr.decode(errors="replace") + "\n" + self.log_tail()
            )

    def stop(self) -> None:
        """Stop Dovecot and every session it serves (clients see their connections drop)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        # The master leaves running sessions (imap, imap-login) behind; they share its process
        # group (its own session), so end them too: a stopped server has no connections.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        if process.stderr is not None:
            process.stderr.close()

    def restart(self) -> None:
        """Stop and start again on the same ports, with the same users and mail."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Stop and remove the temporary directory."""
        self.stop()
        self._introspection.close()
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        """The end of Dovecot's log, for failure messages."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no dovecot log)"

    # -- users -------------------------------------------------------------------------------

    def _write_passwd(self, name: str) -> None:
        # One passwd-file per user (the passdb path contains %u): a new user's file is read
        # fresh on first login, where one shared file is re-read at most once a second.
        path = self.directory / "users" / name
        temporary = path.with_suffix(".tmp")
        temporary.write_text(f"{name}:{{PLAIN}}{self._users[name]}\n")
        previous = path.stat().st_mtime if path.exists() else 0
        # Dovecot notices a change by mtime (seconds) or size: move the mtime forward.
        stamp = max(int(time.time()), int(previous) + 1)
        os.utime(temporary, (stamp, stamp))
        temporary.replace(path)

    def add_user(self, name: str | None = None, password: str | None = None) -> MailUser:
        """Create a login (a random name and password unless given)."""
        name = name or f"user-{uuid.uuid4().hex[:10]}"
        password = password or f"pw-{uuid.uuid4().hex}"
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@+-]*", name):
            raise ValueError(f"unsupported test user name {name!r}")
        if name in self._users:
            raise ValueError(f"user {name!r} exists")
        if ":" in password or "\n" in password:
            raise ValueError("passwd-file passwords cannot contain ':' or newlines")
        self._users[name] = password
        self._write_passwd(name)
        return MailUser(name, password)

    def set_password(self, user: str | MailUser, password: str) -> MailUser:
        """Change a user's password; the next login (from this call's return on) sees it."""
        name = user if isinstance(user, str) else user.username
        if name not in self._users:
            raise KeyError(name)
        if ":" in password or "\n" in password:
            raise ValueError("passwd-file passwords cannot contain ':' or newlines")
        self._users[name] = password
        self._write_passwd(name)
        # Dovecot checks a passwd-file for changes at most once per second of its clock.
        time.sleep(1.05 - time.time() % 1)
        return MailUser(name, password)

    def issue_token(self, user: str | MailUser) -> str:
        """A fresh OAuth access token for ``user`` (SASL XOAUTH2 / OAUTHBEARER login)."""
        name = user if isinstance(user, str) else user.username
        token = f"at-{uuid.uuid4().hex}"
        self._tokens[token] = name
        return token

    def revoke_token(self, token: str) -> None:
        """Make ``token`` inactive: logins with it are refused from now on."""
        self._tokens.pop(token, None)

    def password(self, user: str | MailUser) -> str:
        name = user if isinstance(user, str) else user.username
        return self._users[name]

    # -- clients -----------------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this server's CA."""
        return ssl.create_default_context(cafile=self.ca_file)

    def client(self, user: str | MailUser) -> IMAPClient:
        """A logged-in imapclient over implicit TLS (for test set-up and checks)."""
        name = user if isinstance(user, str) else user.username
        client = IMAPClient(
            HOST, port=self.imaps_port, ssl=True, ssl_context=self.ssl_context(), timeout=30
        )
        try:
            client.login(name, self._users[name])
        except Exception:
            client.shutdown()
            raise
        return client

    def deliver(
        self,
        user: str | MailUser,
        folder: str,
        raw: bytes,
        flags: Sequence[str] = (),
        date: datetime | None = None,
    ) -> int:
        """APPEND ``raw`` to ``folder`` as ``user``; return the new message's UID (APPENDUID)."""
        with self.client(user) as client:
            response = client.append(folder, raw, flags=tuple(flags), msg_time=date)
        match = re.search(rb"\[APPENDUID \d+ (\d+)\]", response)
        if match is None:
            raise RuntimeError(f"no APPENDUID in {response!r}")
        return int(match.group(1))

    def imap_config(
        self,
        user: str | MailUser,
        password: str | None = None,
        security: Literal["ssl", "starttls", "none"] = "ssl",
        *,
        port: int | None = None,
        timeout: float = 20.0,
        access_token: str | None = None,
    ) -> ImapConfig:
        """The adapter's configuration for ``user``: password from the user list unless given,
        or XOAUTH2 with ``access_token`` (see :meth:`issue_token`).

        ``port`` overrides the listener (e.g. a ``DroppingProxy`` in front of it)."""
        from mailmind.integrations.imap import ImapConfig

        name = user if isinstance(user, str) else user.username
        if password is None and access_token is None:
            password = self._users[name]
        if port is None:
            port = self.imaps_port if security == "ssl" else self.imap_port
        return ImapConfig(
            host=HOST,
            port=port,
            security=security,
            username=name,
            password=password,
            access_token=access_token,
            timeout=timeout,
            ca_file=self.ca_file,
        )


class DroppingProxy:
    """A TCP proxy on a free loopback port in front of ``(host, port)``.

    ``cut_after(n)`` arms it: once ``n`` more bytes have gone from the server to a client (on any
    connection open then or later), that connection is closed on both sides, as a network that
    drops in the middle of a response would. The proxy then disarms and forwards normally."""

    def __init__(self, target_port: int, target_host: str = HOST) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((HOST, 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._budget: int | None = None
        self._sockets: set[socket.socket] = set()
        self.cuts = 0
        self._thread = threading.Thread(target=self._accept, name="dropping-proxy", daemon=True)
        self._thread.start()

    def cut_after(self, server_bytes: int) -> None:
        """Drop the connection that receives the next ``server_bytes`` bytes from the server."""
        with self._lock:
            self._budget = server_bytes

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            pair = (client, upstream)
            threading.Thread(
                target=self._pump, args=(client, upstream, False, pair), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, True, pair), daemon=True
            ).start()

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        from_server: bool,
        pair: tuple[socket.socket, socket.socket],
    ) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                cut = False
                if from_server:
                    with self._lock:
                        if self._budget is not None:
                            if len(data) >= self._budget:
                                data, cut = data[: self._budget], True
                                self._budget = None
                                self.cuts += 1
                            else:
                                self._budget -= len(data)
                if data:
                    sink.sendall(data)
                if cut:
                    break
        except OSError:
            pass
        self._close(pair)

    def _close(self, pair: tuple[socket.socket, socket.socket]) -> None:
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with self._lock:
                self._sockets.discard(sock)

    def close(self) -> None:
        """Stop listening and close every proxied connection."""
        # shutdown() wakes the thread blocked in accept(); close() alone does not.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._thread.join(5)

    def __enter__(self) -> DroppingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
