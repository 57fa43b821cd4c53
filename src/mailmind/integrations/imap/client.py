"""An async IMAP connection on top of imapclient.

imapclient is blocking, so every connection owns one worker thread: all of its calls run there,
one at a time (an asyncio lock keeps them from interleaving), and the event loop never blocks.
Library and socket failures leave as :class:`ImapError` with a reason and a transient flag.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import imaplib
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any, TypeVar

from imapclient import IMAPClient  # type: ignore[import-untyped]
from imapclient.exceptions import (  # type: ignore[import-untyped]
    CapabilityError,
    LoginError,
    ProtocolError,
)
from imapclient.response_parser import parse_fetch_response  # type: ignore[import-untyped]

from mailmind.integrations.imap.base import (
    FetchedMessage,
    FlagState,
    FolderStatus,
    ImapConfig,
    RemoteFolder,
)
from mailmind.integrations.imap.errors import ImapError

T = TypeVar("T")

# UIDs per FETCH/STORE/MOVE command: keeps command lines short (a few KB) however many UIDs a
# caller passes, and a FETCH of full messages bounded in memory per response.
FETCH_CHUNK = 100
STORE_CHUNK = 500
SIZE_CHUNK = 1000  # UIDs per FETCH of sizes (the answer is one short line per message)

# RFC 6154 special-use attributes, spelled as the RFC does.
SPECIAL_USE = {
    flag.lower(): flag
    for flag in ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")
}
_NOT_SELECTABLE = {"\\noselect", "\\nonexistent"}
_CHANGES = {b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED"}
_TRANSIENT_RESPONSES = (
    "EXISTS", "RECENT", "EXPUNGE", "FETCH", "VANISHED", "SEARCH", "ESEARCH", "COPYUID",
    "APPENDUID", "OK", "NO", "BAD",
)  # fmt: skip
_RESPONSE_CODE = re.compile(rb"\[([A-Z-]+)[\] ]")
_FOLDER_CODES = {b"TRYCREATE", b"NONEXISTENT", b"ALREADYEXISTS", b"CANNOT", b"NOPERM"}
_TRANSIENT_CODES = {b"UNAVAILABLE", b"INUSE", b"SERVERBUG", b"LIMIT"}


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _flags(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(_text(value) for value in values)


def _message_flags(values: Iterable[Any]) -> tuple[str, ...]:
    # \Recent belongs to one session (RFC 3501 §2.3.2, dropped by IMAP4rev2): not a state to sync.
    return tuple(flag for flag in _flags(values) if flag.lower() != "\\recent")


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _uid_list(uids: Iterable[int]) -> list[int]:
    result = sorted({int(uid) for uid in uids})
    if any(uid <= 0 for uid in result):
        raise ValueError("UIDs are positive integers")
    return result


def _expand_set(text: str) -> list[int]:
    """An IMAP sequence set of UIDs (``1:3,7``) as a list, in the order written (RFC 4315)."""
    result: list[int] = []
    for part in text.split(","):
        if ":" in part:
            low, high = (int(x) for x in part.split(":", 1))
            step = 1 if high >= low else -1
            result.extend(range(low, high + step, step))
        elif part:
            result.append(int(part))
    return result


def _copyuid_map(responses: Sequence[Any]) -> dict[int, int]:
    mapping: dict[int, int] = {}
    for response in responses:
        parts = _text(response).split()
        if len(parts) < 3:
            continue
        source, destination = _expand_set(parts[1]), _expand_set(parts[2].rstrip("]"))
        if len(source) == len(destination):
            mapping.update(zip(source, destination, strict=True))
    return mapping


def _ssl_context(config: ImapConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH)
    if config.ca_file:
        context.load_verify_locations(cafile=config.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _response_code(exc: BaseException) -> bytes | None:
    """The RFC 5530 response code (``NONEXISTENT``, ``UNAVAILABLE``…) in a refusal, if any."""
    match = _RESPONSE_CODE.search(str(exc).encode(errors="replace"))
    return match.group(1) if match else None


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _imap_date(day: date) -> str:
    # RFC 3501 date: English month names whatever the process locale.
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


class ImapConnection:
    """One logged-in IMAP session. Get it from :func:`open_imap`; do not construct it directly.

    ``capabilities`` are the server's (post-login) capability names, upper case;
    ``condstore`` says whether CONDSTORE is enabled, so that :meth:`select` reports
    ``highestmodseq`` and fetches carry MODSEQ. Methods that act on messages work on the folder
    chosen by the last :meth:`select`. After a connection-level failure (a dropped connection,
    a timeout, a cancelled call) every further call raises ``ImapError(reason="connect")``:
    open a new connection."""

    capabilities: frozenset[str]
    condstore: bool

    def __init__(self, config: ImapConfig) -> None:
        self.config = config
        self.capabilities = frozenset()
        self.condstore = False
        self._client: Any = None
        self._established = False
        self._broken: str | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imap")
        self._lock = asyncio.Lock()

    # -- plumbing ----------------------------------------------------------------------------

    async def _run(self, function: Callable[..., T], *args: Any, folder_errors: bool = False) -> T:
        async with self._lock:
            if self._broken is not None:
                raise ImapError("connect", self._broken, transient=True)
            call = functools.partial(self._guarded, function, args, folder_errors)
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(self._executor, call)
            except asyncio.CancelledError:
                # The thread may be mid-command; the session's state is unknown from here on.
                self._break("the connection was abandoned in the middle of a command")
                raise

    def _guarded(self, function: Callable[..., T], args: tuple[Any, ...], folders: bool) -> T:
        if self._client is not None:
            # imaplib keeps every untagged response until someone pops it; nothing here reads
            # them across calls, so a long session does not pile them up.
            self._forget(*_TRANSIENT_RESPONSES)
        try:
            return function(*args)
        except ImapError as exc:
            if exc.reason in {"connect", "timeout", "tls"}:
                self._break(exc.message)
            raise
        except Exception as exc:
            error = self._translate(exc, folders=folders)
            if error is None:
                raise
            if error.reason in {"connect", "timeout", "tls", "dns"}:
                self._break(error.message)
            raise error from exc

    def _translate(self, exc: Exception, *, folders: bool) -> ImapError | None:
        text = str(exc)
        if text.startswith(("b'", 'b"')) and text[-1:] == text[1]:
            text = text[2:-1]  # imapclient wraps some server texts as bytes reprs
        detail = f"{type(exc).__name__}: {text}"
        if isinstance(exc, socket.gaierror):
            # EAI_AGAIN is a resolver that did not answer, not a name that does not exist.
            return ImapError("dns", detail, transient=exc.errno == socket.EAI_AGAIN)
        if isinstance(exc, TimeoutError):
            return ImapError("timeout", detail, transient=True)
        if isinstance(exc, ssl.SSLError) and not self._established:
            return ImapError("tls", detail, transient=False)
        if isinstance(exc, CapabilityError) and not self._established:
            # Only STARTTLS is required before login.
            return ImapError("tls", f"the server does not offer STARTTLS: {exc}", transient=False)
        if isinstance(exc, LoginError):
            cause = exc.__context__
            if isinstance(cause, imaplib.IMAP4.abort | OSError):
                return ImapError("connect", detail, transient=True)
            if _response_code(exc) in _TRANSIENT_CODES:
                return ImapError("connect", detail, transient=True)
            return ImapError("auth", detail, transient=False)
        if isinstance(exc, imaplib.IMAP4.abort):
            # A dropped connection, a BYE, or a stream imaplib can no longer follow.
            return ImapError("connect", detail, transient=True)
        if isinstance(exc, OSError):
            return ImapError("connect", detail, transient=True)
        if isinstance(exc, ProtocolError):
            return ImapError("protocol", detail, transient=False)
        if isinstance(exc, imaplib.IMAP4.error):
            code = _response_code(exc)
            if code in _TRANSIENT_CODES:
                return ImapError("protocol", detail, transient=True)
            if folders or code in _FOLDER_CODES:
                return ImapError("folder", detail, transient=False)
            return ImapError("protocol", detail, transient=False)
        return None

    def _break(self, why: str) -> None:
        if self._broken is None:
            self._broken = f"the connection is no longer usable ({why})"
        self._shutdown_socket()

    def _shutdown_socket(self) -> None:
        # Safe from any thread: wakes the worker if it is blocked reading.
        client = self._client
        if client is None:
            return
        with contextlib.suppress(Exception):
            client.socket().shutdown(socket.SHUT_RDWR)

    def _forget(self, *names: str) -> None:
        for name in names:
            self._client._imap.untagged_responses.pop(name, None)

    # -- session -----------------------------------------------------------------------------

    async def _open(self) -> None:
        await self._run(self._connect_and_login)

    def _connect_and_login(self) -> None:
        config = self.config
        if config.security == "ssl":
            client = IMAPClient(
                config.host,
                port=config.port,
                ssl=True,
                ssl_context=_ssl_context(config),
                timeout=config.timeout,
            )
        else:
            client = IMAPClient(config.host, port=config.port, ssl=False, timeout=config.timeout)
        self._client = client
        # Timestamps stay timezone-aware instead of converted to naive local time.
        client.normalise_times = False
        if config.security == "starttls":
            client.starttls(_ssl_context(config))
        if config.access_token:
            client.oauth2_login(config.username, config.access_token)
        elif config.password is not None:
            client.login(config.username, config.password)
        else:
            raise ImapError("auth", "neither a password nor an access token", transient=False)
        self._established = True
        self.capabilities = frozenset(_text(c).upper() for c in client.capabilities())
        if "CONDSTORE" in self.capabilities and "ENABLE" in self.capabilities:
            client.enable("CONDSTORE")
            self.condstore = True

    async def close(self) -> None:
        """Log out (best effort) and release the connection's thread."""
        try:
            if self._client is not None and self._broken is None:
                # A server that fails the LOGOUT changes nothing for the caller.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._run(self._logout), self.config.timeout)
        finally:
            self._broken = self._broken or "the connection is closed"
            self._shutdown_socket()
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.shutdown()
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _logout(self) -> None:
        self._client.logout()

    # -- folders -----------------------------------------------------------------------------

    async def list_folders(self) -> list[RemoteFolder]:
        """All mailboxes (LIST "" "*"), with RFC 6154 special-use attributes where known."""
        return await self._run(self._list_folders)

    def _list_folders(self) -> list[RemoteFolder]:
        client = self._client
        if {"SPECIAL-USE", "LIST-EXTENDED"} <= self.capabilities:
            # Some servers name the special-use attributes only when asked (RFC 6154 §2).
            typ, data = client._imap._simple_command("LIST", '""', '"*"', "RETURN (SPECIAL-USE)")
            client._checkok("list", typ, data)
            typ, data = client._imap._untagged_response(typ, data, "LIST")
            entries = client._proc_folder_list(data)
        else:
            entries = client.list_folders()
        folders: list[RemoteFolder] = []
        for raw_flags, raw_delimiter, raw_name in entries:
            flags = _flags(raw_flags)
            path = _text(raw_name)
            delimiter = _text(raw_delimiter) if raw_delimiter else None
            name = path.rsplit(delimiter, 1)[-1] if delimiter else path
            lowered = {flag.lower() for flag in flags}
            special = next((SPECIAL_USE[f] for f in lowered if f in SPECIAL_USE), None)
            folders.append(
                RemoteFolder(
                    path=path,
                    name=name,
                    delimiter=delimiter,
                    flags=flags,
                    special_use=special,
                    selectable=not (lowered & _NOT_SELECTABLE),
                )
            )
        return folders

    async def select(self, path: str, readonly: bool = False) -> FolderStatus:
        """SELECT (or EXAMINE when ``readonly``) ``path``; unknown folder → reason ``folder``."""
        return await self._run(self._select, path, readonly, folder_errors=True)

    def _select(self, path: str, readonly: bool) -> FolderStatus:
        client = self._client
        response = client.select_folder(path, readonly=readonly)
        uidnext = response.get(b"UIDNEXT")
        if uidnext is None:
            # UIDNEXT is optional in a SELECT response (RFC 3501 §6.3.1); STATUS always has it.
            uidnext = client.folder_status(path, ["UIDNEXT"])[b"UIDNEXT"]
        highest = response.get(b"HIGHESTMODSEQ") if self.condstore else None
        # Without PERMANENTFLAGS every flag may be changed permanently (RFC 3501 §7.1).
        permanent = response.get(b"PERMANENTFLAGS")
        try:
            return FolderStatus(
                uidvalidity=int(response[b"UIDVALIDITY"]),
                uidnext=int(uidnext),
                exists=int(response[b"EXISTS"]),
                highestmodseq=int(highest) if highest is not None else None,
                new_keywords=permanent is None or b"\\*" in permanent,
            )
        except KeyError as exc:
            raise ImapError("protocol", f"SELECT without {exc}", transient=False) from exc

    async def create_folder(self, path: str) -> None:
        """CREATE ``path`` (hierarchy with the server's delimiter); refused → ``folder``."""
        await self._run(self._client_call, "create_folder", path, folder_errors=True)

    async def rename_folder(self, old: str, new: str) -> None:
        """RENAME ``old`` to ``new``; refused → reason ``folder``."""
        await self._run(self._client_call, "rename_folder", old, new, folder_errors=True)

    async def delete_folder(self, path: str) -> None:
        """DELETE ``path``; refused → reason ``folder``."""
        await self._run(self._client_call, "delete_folder", path, folder_errors=True)

    def _client_call(self, name: str, *args: Any) -> Any:
        return getattr(self._client, name)(*args)

    # -- messages ----------------------------------------------------------------------------

    async def search_uids(self, since: date | None = None) -> list[int]:
        """UIDs in the selected folder (with INTERNALDATE on or after ``since``), ascending."""
        return await self._run(self._search, since)

    def _search(self, since: date | None) -> list[int]:
        criteria: list[Any] = ["SINCE", _imap_date(since)] if since is not None else ["ALL"]
        if "ESEARCH" in self.capabilities:
            # RFC 4731: the answer comes as ranges, so 100k UIDs fit one short line.
            imap = self._client._imap
            self._forget("ESEARCH")
            args = ["SEARCH", "RETURN", "(ALL)"]
            args += ["SINCE", _imap_date(since)] if since is not None else ["ALL"]
            typ, data = imap._simple_command("UID", *args)
            self._client._checkok("search", typ, data)
            _, data = imap._untagged_response(typ, data, "ESEARCH")
            uids: list[int] = []
            for line in data:
                if not line:
                    continue
                match = re.search(rb"\bALL ([0-9:,]+)", line)
                if match:
                    uids.extend(_expand_set(match.group(1).decode()))
            return sorted(set(uids))
        return sorted(int(uid) for uid in self._client.search(criteria))

    def _uid_fetch(self, uids: Sequence[int] | None, items: str, modifiers: str | None) -> Any:
        imap = self._client._imap
        self._forget("FETCH")
        message_set = ",".join(map(str, uids)) if uids is not None else "1:*"
        args = [message_set, items] + ([modifiers] if modifiers else [])
        typ, data = imap._simple_command("UID", "FETCH", *args)
        self._client._checkok("fetch", typ, data)
        _, data = imap._untagged_response(typ, data, "FETCH")
        # Keyed by sequence number, so an unsolicited FETCH without UID cannot land on a UID.
        return parse_fetch_response(data, normalise_times=False, uid_is_key=False)

    async def fetch_sizes(self, uids: Iterable[int]) -> dict[int, int]:
        """RFC822.SIZE of each of ``uids`` that still exists (the server knows it without
        reading the messages)."""
        sizes: dict[int, int] = {}
        for chunk in _chunks(_uid_list(uids), SIZE_CHUNK):
            sizes.update(await self._run(self._fetch_sizes, chunk))
        return sizes

    def _fetch_sizes(self, uids: list[int]) -> dict[int, int]:
        wanted = set(uids)
        sizes: dict[int, int] = {}
        for data in self._uid_fetch(uids, "(UID RFC822.SIZE)", None).values():
            uid, size = data.get(b"UID"), data.get(b"RFC822.SIZE")
            if uid in wanted and isinstance(size, int):
                sizes[uid] = size
        return sizes

    async def fetch(self, uids: Iterable[int]) -> list[FetchedMessage]:
        """Whole messages, ascending by UID; UIDs that no longer exist are left out. Flags never
        include the session-only ``\\Recent``.

        Uses ``BODY.PEEK[]``, so fetching never sets ``\\Seen``."""
        wanted = _uid_list(uids)
        messages: list[FetchedMessage] = []
        for chunk in _chunks(wanted, FETCH_CHUNK):
            messages.extend(await self._run(self._fetch_chunk, chunk))
        return messages

    def _fetch_chunk(self, uids: list[int]) -> list[FetchedMessage]:
        items = "(UID BODY.PEEK[] FLAGS INTERNALDATE RFC822.SIZE"
        items += " MODSEQ)" if self.condstore else ")"
        wanted = set(uids)
        result: dict[int, FetchedMessage] = {}
        for data in self._uid_fetch(uids, items, None).values():
            uid = data.get(b"UID")
            body = data.get(b"BODY[]")
            if uid not in wanted or body is None:
                continue
            internal = data.get(b"INTERNALDATE")
            result[uid] = FetchedMessage(
                uid=uid,
                flags=_message_flags(data.get(b"FLAGS", ())),
                internal_date=internal if isinstance(internal, datetime) else None,
                size=int(data.get(b"RFC822.SIZE", len(body))),
                raw=bytes(body),
                modseq=self._modseq(data),
            )
        return [result[uid] for uid in sorted(result)]

    def _modseq(self, data: dict[bytes, Any]) -> int | None:
        value: Any = data.get(b"MODSEQ")
        if isinstance(value, tuple | list):
            value = value[0] if value else None
        return int(value) if value is not None else None

    async def fetch_flags(
        self, uids: Iterable[int] | None = None, changed_since: int | None = None
    ) -> list[FlagState]:
        """Flags of ``uids`` (all messages when None), ascending by UID.

        ``changed_since`` (a MODSEQ, CONDSTORE servers only) limits the answer to messages whose
        flags changed after it (RFC 7162 CHANGEDSINCE)."""
        if changed_since is not None and not self.condstore:
            raise ImapError("protocol", "CHANGEDSINCE needs CONDSTORE", transient=False)
        if uids is None:
            return await self._run(self._fetch_flags, None, changed_since)
        states: list[FlagState] = []
        for chunk in _chunks(_uid_list(uids), STORE_CHUNK):
            states.extend(await self._run(self._fetch_flags, chunk, changed_since))
        return states

    def _fetch_flags(self, uids: list[int] | None, changed_since: int | None) -> list[FlagState]:
        items = "(UID FLAGS MODSEQ)" if self.condstore else "(UID FLAGS)"
        modifiers = f"(CHANGEDSINCE {int(changed_since)})" if changed_since is not None else None
        wanted = set(uids) if uids is not None else None
        states: dict[int, FlagState] = {}
        for data in self._uid_fetch(uids, items, modifiers).values():
            uid = data.get(b"UID")
            if uid is None or b"FLAGS" not in data or (wanted is not None and uid not in wanted):
                continue
            states[uid] = FlagState(
                uid=uid, flags=_message_flags(data[b"FLAGS"]), modseq=self._modseq(data)
            )
        return [states[uid] for uid in sorted(states)]

    async def add_flags(self, uids: Iterable[int], flags: Sequence[str]) -> None:
        """Add flags or keywords (``\\Seen``, ``$Label``) to messages."""
        for chunk in _chunks(_uid_list(uids), STORE_CHUNK):
            await self._run(self._store, "add_flags", chunk, tuple(flags))

    async def remove_flags(self, uids: Iterable[int], flags: Sequence[str]) -> None:
        """Remove flags or keywords from messages."""
        for chunk in _chunks(_uid_list(uids), STORE_CHUNK):
            await self._run(self._store, "remove_flags", chunk, tuple(flags))

    def _store(self, method: str, uids: list[int], flags: tuple[str, ...]) -> None:
        if flags:
            getattr(self._client, method)(uids, flags, silent=True)

    async def move(self, uids: Iterable[int], dest_path: str) -> dict[int, int]:
        """Move messages to ``dest_path``: MOVE (RFC 6851) when offered, else COPY, ``\\Deleted``
        and UID EXPUNGE. Returns old UID → new UID from COPYUID (RFC 4315), ``{}`` if the server
        does not say."""
        mapping: dict[int, int] = {}
        for chunk in _chunks(_uid_list(uids), STORE_CHUNK):
            mapping.update(await self._run(self._move, chunk, dest_path, folder_errors=True))
        return mapping

    def _move(self, uids: list[int], dest_path: str) -> dict[int, int]:
        client = self._client
        self._forget("COPYUID")
        if "MOVE" in self.capabilities:
            client.move(uids, dest_path)
        else:
            client.copy(uids, dest_path)
            self._expunge(uids)
        responses = client._imap.untagged_responses.pop("COPYUID", [])
        return _copyuid_map(responses)

    def _expunge(self, uids: list[int]) -> None:
        client = self._client
        client.add_flags(uids, ["\\Deleted"], silent=True)
        if "UIDPLUS" in self.capabilities:
            client.uid_expunge(uids)
        else:
            # Without UIDPLUS, EXPUNGE also removes other messages already marked \Deleted.
            client.expunge()

    async def delete_uids(self, uids: Iterable[int]) -> None:
        """Remove messages for good: ``\\Deleted`` + UID EXPUNGE (no trip through Trash)."""
        for chunk in _chunks(_uid_list(uids), STORE_CHUNK):
            await self._run(self._expunge, chunk)

    async def append(
        self,
        path: str,
        raw: bytes,
        flags: Sequence[str] = (),
        date: datetime | None = None,
    ) -> int | None:
        """APPEND ``raw`` to ``path`` with flags and INTERNALDATE; the new UID when the server
        reports APPENDUID (RFC 4315), else None. A missing folder → reason ``folder``."""
        return await self._run(self._append, path, raw, tuple(flags), date, folder_errors=True)

    def _append(
        self, path: str, raw: bytes, flags: tuple[str, ...], when: datetime | None
    ) -> int | None:
        self._forget("APPENDUID")
        self._client.append(path, raw, flags=flags, msg_time=when)
        for response in self._client._imap.untagged_responses.pop("APPENDUID", []):
            parts = _text(response).split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1])
        return None

    # -- waiting -----------------------------------------------------------------------------

    async def idle(self, timeout: float) -> bool:  # noqa: ASYNC109 - the wait is IDLE's own
        """Wait up to ``timeout`` seconds for the server to report a change to the selected
        folder (new, expunged or changed messages). IDLE (RFC 2177) when offered, else one
        NOOP after the wait. Returns whether there was a change."""
        return await self._run(self._idle, float(timeout))

    def _idle(self, timeout: float) -> bool:
        client = self._client
        if "IDLE" not in self.capabilities:
            time.sleep(timeout)
            _, responses = client.noop()
            return any(self._is_change(r) for r in responses)
        deadline = time.monotonic() + timeout
        changed = False
        client.idle()
        try:
            while not changed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                responses = client.idle_check(timeout=remaining)
                changed = any(self._is_change(r) for r in responses)
                if not responses and time.monotonic() < deadline and self._peer_closed():
                    raise ImapError("connect", "the server closed the connection", transient=True)
        except BaseException:
            # Still in IDLE, or the connection is gone: either way it cannot take commands.
            self._break("IDLE was interrupted")
            raise
        _, responses = client.idle_done()
        return changed or any(self._is_change(r) for r in responses)

    @staticmethod
    def _is_change(response: Any) -> bool:
        return isinstance(response, tuple) and len(response) >= 2 and response[1] in _CHANGES

    def _peer_closed(self) -> bool:
        # idle_check() returns nothing both when the wait ran out and when the connection hit
        # EOF; peek at the TCP stream (below TLS) to tell the two apart.
        raw = self._client.socket()
        fd = raw.fileno()
        if fd < 0:
            return True
        probe = socket.socket(fileno=socket.dup(fd))
        try:
            probe.setblocking(False)
            return probe.recv(1, socket.MSG_PEEK) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True
        finally:
            probe.close()

    async def noop(self) -> None:
        """NOOP: keeps the session alive and lets the server send pending updates."""
        await self._run(self._client_call, "noop")


@contextlib.asynccontextmanager
async def open_imap(config: ImapConfig) -> AsyncIterator[ImapConnection]:
    """Connect, secure (per ``config.security``) and log in; log out when the block ends.

    Raises :class:`ImapError` (dns, connect, tls, auth, timeout, protocol) when that fails."""
    connection = ImapConnection(config)
    try:
        await connection._open()
        yield connection
    finally:
        await connection.close()


async def check_imap_login(config: ImapConfig) -> None:
    """Prove the settings work: connect, log in and LIST, all within ``config.timeout``.

    Raises :class:`ImapError` with the reason (dns, connect, tls, auth, timeout)."""
    try:
        async with asyncio.timeout(config.timeout):
            async with open_imap(config) as connection:
                await connection.list_folders()
    except TimeoutError as exc:
        raise ImapError(
            "timeout", f"no answer within {config.timeout:g} s", transient=True
        ) from exc


__all__ = ["ImapConnection", "check_imap_login", "open_imap"]
