"""The IMAP adapter against a real Dovecot: logins and their failures, folders, messages, flags,
moves, IDLE, and a connection dropped in the middle of a FETCH."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from mailmind.integrations.imap import ImapConfig, ImapError, check_imap_login, open_imap
from tests.mailservers import DovecotServer, DroppingProxy, MailUser, make_ca
from tests.services import free_port

CET = timezone(timedelta(hours=1))


def message(subject: str = "Hello", body: bytes = b"Just a note.\r\n", **headers: str) -> bytes:
    lines = [
        b"From: Alice <alice@example.test>",
        b"To: Bob <bob@example.test>",
        b"Subject: " + subject.encode(),
        b"Message-ID: <" + subject.encode().hex().encode() + b"@example.test>",
        b"Date: Mon, 03 Feb 2025 10:00:00 +0100",
        *(f"{name}: {value}".encode() for name, value in headers.items()),
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def eight_bit_message() -> bytes:
    return (
        "From: Jörg Müller <joerg@example.test>\r\n"
        "To: bob@example.test\r\n"
        "Subject: Grüße aus Köln\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Schöne Grüße, 東京 😀\r\n"
    ).encode() + b"Latin-1 byte: \xfc\xe9\r\n"


def big_message(size: int) -> bytes:
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/0123456789\r\n"
    body = line * (size // len(line) + 1)
    return message("Big one", body)


# -- logging in ------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["ssl", "starttls", "none"])
async def test_login_and_list_succeed(
    dovecot: DovecotServer, mail_user: MailUser, security: str
) -> None:
    config = dovecot.imap_config(mail_user, security=security)  # type: ignore[arg-type]
    await check_imap_login(config)


async def test_wrong_password_is_a_permanent_auth_error(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    with pytest.raises(ImapError) as caught:
        await check_imap_login(dovecot.imap_config(mail_user, password="not-the-password"))
    assert caught.value.reason == "auth"
    assert caught.value.transient is False


async def test_changed_password_is_refused(dovecot: DovecotServer, mail_user: MailUser) -> None:
    old = dovecot.imap_config(mail_user)
    dovecot.set_password(mail_user, "a-new-password")
    with pytest.raises(ImapError) as caught:
        await check_imap_login(old)
    assert caught.value.reason == "auth"
    await check_imap_login(dovecot.imap_config(mail_user))


async def test_xoauth2_login_with_an_active_token(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    token = dovecot.issue_token(mail_user)
    config = dovecot.imap_config(mail_user, access_token=token)
    assert config.password is None
    await check_imap_login(config)
    async with open_imap(config) as conn:
        await conn.select("INBOX")


async def test_xoauth2_with_a_revoked_token_is_an_auth_error(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    token = dovecot.issue_token(mail_user)
    dovecot.revoke_token(token)
    with pytest.raises(ImapError) as caught:
        await check_imap_login(dovecot.imap_config(mail_user, access_token=token))
    assert caught.value.reason == "auth"
    assert caught.value.transient is False


async def test_closed_port_is_a_transient_connect_error(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    config = dovecot.imap_config(mail_user, port=free_port())
    with pytest.raises(ImapError) as caught:
        await check_imap_login(config)
    assert caught.value.reason == "connect"
    assert caught.value.transient is True


async def test_certificate_from_another_ca_is_a_tls_error(
    dovecot: DovecotServer, mail_user: MailUser, tmp_path: Path
) -> None:
    other_ca, _ = make_ca(tmp_path, "other")
    config = dataclasses.replace(dovecot.imap_config(mail_user), ca_file=str(other_ca))
    with pytest.raises(ImapError) as caught:
        await check_imap_login(config)
    assert caught.value.reason == "tls"
    assert caught.value.transient is False


async def test_self_signed_server_is_not_trusted_without_its_ca(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    for security in ("ssl", "starttls"):
        config = dataclasses.replace(
            dovecot.imap_config(mail_user, security=security),  # type: ignore[arg-type]
            ca_file=None,
        )
        with pytest.raises(ImapError) as caught:
            await check_imap_login(config)
        assert caught.value.reason == "tls"


async def test_tls_to_a_plain_port_is_a_tls_error(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    config = dovecot.imap_config(mail_user, security="ssl", port=dovecot.imap_port)
    with pytest.raises(ImapError) as caught:
        await check_imap_login(config)
    assert caught.value.reason == "tls"


async def test_unknown_host_is_a_dns_error() -> None:
    config = ImapConfig(
        host="no-such-host.invalid", port=993, security="ssl", username="u", password="p"
    )
    with pytest.raises(ImapError) as caught:
        await check_imap_login(config)
    assert caught.value.reason == "dns"


async def test_server_that_never_greets_is_a_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        config = ImapConfig(
            host="127.0.0.1",
            port=port,
            security="none",
            username="u",
            password="p",
            timeout=0.5,
        )
        with pytest.raises(ImapError) as caught:
            await check_imap_login(config)
    assert caught.value.reason == "timeout"
    assert caught.value.transient is True


def test_config_repr_hides_secrets() -> None:
    config = ImapConfig(
        host="h", port=1, security="ssl", username="u", password="hunter2", access_token="tok"
    )
    assert "hunter2" not in repr(config)
    assert "tok" not in repr(config)


# -- folders ---------------------------------------------------------------------------------


async def test_list_folders_reports_special_use(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        assert conn.condstore is True
        assert {"IDLE", "MOVE", "UIDPLUS", "CONDSTORE"} <= conn.capabilities
        folders = {folder.path: folder for folder in await conn.list_folders()}
    assert set(folders) == {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"}
    assert {path: f.special_use for path, f in folders.items()} == {
        "INBOX": None,
        "Drafts": "\\Drafts",
        "Sent": "\\Sent",
        "Trash": "\\Trash",
        "Junk": "\\Junk",
        "Archive": "\\Archive",
    }
    assert all(f.selectable and f.delimiter == "/" for f in folders.values())
    assert "\\Sent" in folders["Sent"].flags


async def test_select_reports_uidvalidity_uidnext_and_highestmodseq(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    config = dovecot.imap_config(mail_user)
    async with open_imap(config) as conn:
        empty = await conn.select("INBOX")
        assert await conn.search_uids() == []
        assert await conn.fetch_flags() == []
        assert await conn.fetch([]) == []
    assert empty.uidvalidity > 0
    assert (empty.uidnext, empty.exists) == (1, 0)
    assert empty.highestmodseq is not None

    dovecot.deliver(mail_user, "INBOX", message("one"))
    dovecot.deliver(mail_user, "INBOX", message("two"))
    async with open_imap(config) as conn:
        status = await conn.select("INBOX", readonly=True)
    assert status.uidvalidity == empty.uidvalidity
    assert (status.uidnext, status.exists) == (3, 2)
    assert status.highestmodseq is not None
    assert status.highestmodseq > empty.highestmodseq


async def test_selecting_a_missing_folder_is_a_folder_error(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        with pytest.raises(ImapError) as caught:
            await conn.select("Does-Not-Exist")
        assert caught.value.reason == "folder"
        assert caught.value.transient is False
        # A refused command leaves the session usable.
        await conn.select("INBOX")


async def test_create_rename_delete_folder_with_non_ascii_name(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        await conn.create_folder("Entwürfe-Kopie")
        await conn.create_folder("Entwürfe-Kopie/Größe")
        folders = {f.path: f for f in await conn.list_folders()}
        assert "Entwürfe-Kopie" in folders
        assert folders["Entwürfe-Kopie/Größe"].name == "Größe"
        uid = await conn.append("Entwürfe-Kopie/Größe", message("kept"))
        assert uid == 1

        await conn.rename_folder("Entwürfe-Kopie", "Entwürfe-Kopie (alt)")
        paths = {f.path for f in await conn.list_folders()}
        assert "Entwürfe-Kopie" not in paths
        assert {"Entwürfe-Kopie (alt)", "Entwürfe-Kopie (alt)/Größe"} <= paths
        status = await conn.select("Entwürfe-Kopie (alt)/Größe")
        assert status.exists == 1

        await conn.select("INBOX")
        await conn.delete_folder("Entwürfe-Kopie (alt)/Größe")
        await conn.delete_folder("Entwürfe-Kopie (alt)")
        paths = {f.path for f in await conn.list_folders()}
        assert not any(path.startswith("Entwürfe") for path in paths)

        with pytest.raises(ImapError) as caught:
            await conn.delete_folder("Entwürfe-Kopie (alt)")
        assert caught.value.reason == "folder"
        with pytest.raises(ImapError) as caught:
            await conn.create_folder("INBOX")
        assert caught.value.reason == "folder"


# -- messages --------------------------------------------------------------------------------


async def test_append_and_fetch_round_trip_byte_exact(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    raws = [message("plain"), eight_bit_message(), big_message(5 * 1024 * 1024)]
    when = datetime(2024, 5, 17, 9, 30, 15, tzinfo=CET)
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        uids = [await conn.append("INBOX", raw, flags=("\\Flagged",), date=when) for raw in raws]
        assert uids == [1, 2, 3]
        await conn.select("INBOX")
        fetched = await conn.fetch([3, 1, 2, 99])
    assert [m.uid for m in fetched] == [1, 2, 3]
    for item, raw in zip(fetched, raws, strict=True):
        assert item.raw == raw
        assert item.size == len(raw)
        assert item.flags == ("\\Flagged",)
        assert item.internal_date == when
        assert item.internal_date is not None
        assert item.internal_date.utcoffset() is not None
        assert item.modseq is not None and item.modseq > 0


async def test_append_returns_none_free_uid_and_missing_folder_is_a_folder_error(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        with pytest.raises(ImapError) as caught:
            await conn.append("Nowhere", message())
        assert caught.value.reason == "folder"
        assert await conn.append("Sent", message(), flags=("\\Seen",)) == 1


async def test_fetch_many_uids_in_chunks(dovecot: DovecotServer, mail_user: MailUser) -> None:
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        for n in range(250):
            await conn.append("INBOX", message(f"m{n}"))
        await conn.select("INBOX")
        uids = await conn.search_uids()
        assert uids == list(range(1, 251))
        fetched = await conn.fetch(range(1, 2000))
        flags = await conn.fetch_flags(range(1, 2000))
    assert [m.uid for m in fetched] == uids
    assert fetched[123].raw == message("m123")
    assert [f.uid for f in flags] == uids


async def test_sizes_are_read_without_the_messages(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    small = message("small")
    large = message("large", body=(b"0123456789" * 7 + b"\r\n") * 1500)  # 108 KB
    first = dovecot.deliver(mail_user, "INBOX", small)
    second = dovecot.deliver(mail_user, "INBOX", large)
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        await conn.select("INBOX")
        sizes = await conn.fetch_sizes([second, first, 999])
    assert sizes == {first: len(small), second: len(large)}


async def test_fetch_does_not_mark_messages_read(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    uid = dovecot.deliver(mail_user, "INBOX", message())
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        await conn.select("INBOX")
        [fetched] = await conn.fetch([uid])
        assert "\\Seen" not in fetched.flags
        [state] = await conn.fetch_flags([uid])
        assert "\\Seen" not in state.flags
    with dovecot.client(mail_user) as check:
        check.select_folder("INBOX", readonly=True)
        assert b"\\Seen" not in check.get_flags([uid])[uid]


async def test_search_since_returns_ascending_uids(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    old = datetime(2020, 1, 10, 12, 0, tzinfo=UTC)
    new = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    for when in (new, old, new, old):
        dovecot.deliver(mail_user, "INBOX", message(), date=when)
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        await conn.select("INBOX")
        assert await conn.search_uids() == [1, 2, 3, 4]
        assert await conn.search_uids(since=date(2023, 1, 1)) == [1, 3]
        assert await conn.search_uids(since=date(2025, 1, 1)) == []


async def test_flags_add_remove_and_changed_since(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    for n in range(3):
        dovecot.deliver(mail_user, "INBOX", message(f"m{n}"), flags=("\\Seen",))
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        before = await conn.select("INBOX")
        assert before.highestmodseq is not None
        await conn.add_flags([2], ["\\Flagged", "$Work"])
        await conn.remove_flags([2, 3], ["\\Seen"])

        changed = await conn.fetch_flags(changed_since=before.highestmodseq)
        assert [state.uid for state in changed] == [2, 3]
        assert set(changed[0].flags) == {"\\Flagged", "$Work"}
        assert changed[1].flags == ()
        assert all(s.modseq is not None and s.modseq > before.highestmodseq for s in changed)

        everything = await conn.fetch_flags()
        assert (everything[0].uid, everything[0].flags) == (1, ("\\Seen",))
        assert len(everything) == 3

        latest = max(s.modseq or 0 for s in everything)
        assert await conn.fetch_flags(changed_since=latest) == []
        assert await conn.fetch_flags([1, 2], changed_since=before.highestmodseq) == [changed[0]]


async def test_move_returns_new_uids(dovecot: DovecotServer, mail_user: MailUser) -> None:
    raws = [message(f"m{n}") for n in range(3)]
    for raw in raws:
        dovecot.deliver(mail_user, "INBOX", raw)
    dovecot.deliver(mail_user, "Archive", message("already archived"))
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        await conn.select("INBOX")
        mapping = await conn.move([1, 3], "Archive")
        assert mapping == {1: 2, 3: 3}
        assert await conn.search_uids() == [2]
        await conn.select("Archive")
        moved = await conn.fetch(mapping.values())
    assert [m.raw for m in moved] == [raws[0], raws[2]]


async def test_move_to_missing_folder_is_a_folder_error(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    dovecot.deliver(mail_user, "INBOX", message())
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        await conn.select("INBOX")
        with pytest.raises(ImapError) as caught:
            await conn.move([1], "Nowhere")
        assert caught.value.reason == "folder"
        assert await conn.search_uids() == [1]


async def test_delete_uids_expunges_only_those(dovecot: DovecotServer, mail_user: MailUser) -> None:
    for n in range(4):
        dovecot.deliver(mail_user, "INBOX", message(f"m{n}"))
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        await conn.select("INBOX")
        await conn.delete_uids([2, 4])
        assert await conn.search_uids() == [1, 3]
        await conn.select("Trash")
        assert await conn.search_uids() == []


async def test_without_move_esearch_and_idle_the_plain_commands_do_the_same(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    raws = [message(f"m{n}") for n in range(3)]
    for raw in raws:
        dovecot.deliver(mail_user, "INBOX", raw)
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        # As against a server that offers none of these extensions.
        conn.capabilities = conn.capabilities - {"MOVE", "ESEARCH", "LIST-EXTENDED", "IDLE"}
        folders = {f.path: f.special_use for f in await conn.list_folders()}
        assert folders["Sent"] == "\\Sent"
        await conn.select("INBOX")
        assert await conn.search_uids() == [1, 2, 3]
        assert await conn.move([2, 3], "Archive") == {2: 1, 3: 2}
        assert await conn.search_uids() == [1]
        assert await conn.idle(0.1) is False
        await asyncio.to_thread(dovecot.deliver, mail_user, "INBOX", message("new"))
        assert await conn.idle(0.1) is True
        await conn.select("Archive")
        assert [m.raw for m in await conn.fetch([1, 2])] == raws[1:]


# -- waiting ---------------------------------------------------------------------------------


async def test_idle_returns_true_when_another_connection_appends(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        await conn.select("INBOX")
        waiting = asyncio.create_task(conn.idle(60))
        # Let the IDLE begin; a message that lands before it is reported when it starts.
        await asyncio.sleep(0.3)
        await asyncio.to_thread(dovecot.deliver, mail_user, "INBOX", message("new"))
        assert await waiting is True
        # IDLE ended cleanly: the connection takes commands again.
        assert await conn.search_uids() == [1]


async def test_idle_returns_false_on_timeout(dovecot: DovecotServer, mail_user: MailUser) -> None:
    async with open_imap(dovecot.imap_config(mail_user)) as conn:
        await conn.select("INBOX")
        assert await conn.idle(0.5) is False
        await conn.noop()


async def test_idle_raises_when_the_connection_drops(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    with DroppingProxy(dovecot.imap_port) as proxy:
        config = dovecot.imap_config(mail_user, security="none", port=proxy.port)
        async with open_imap(config) as conn:
            await conn.select("INBOX")
            waiting = asyncio.create_task(conn.idle(60))
            await asyncio.sleep(0.3)
            proxy.cut_after(0)
            # Any bytes from the server now end the connection: make the server send some.
            await asyncio.to_thread(dovecot.deliver, mail_user, "INBOX", message())
            with pytest.raises(ImapError) as caught:
                await waiting
    assert caught.value.reason == "connect"
    assert caught.value.transient is True


# -- dropped connections ---------------------------------------------------------------------


@pytest.mark.parametrize("security", ["none", "ssl"])
async def test_connection_dropped_during_fetch_is_transient(
    dovecot: DovecotServer, mail_user: MailUser, security: str
) -> None:
    raw = big_message(1024 * 1024)
    uid = dovecot.deliver(mail_user, "INBOX", raw)
    target = dovecot.imaps_port if security == "ssl" else dovecot.imap_port
    with DroppingProxy(target) as proxy:
        config = dovecot.imap_config(mail_user, security=security, port=proxy.port)  # type: ignore[arg-type]
        async with open_imap(config) as conn:
            await conn.select("INBOX")
            proxy.cut_after(200_000)
            with pytest.raises(ImapError) as caught:
                await conn.fetch([uid])
            assert caught.value.reason == "connect"
            assert caught.value.transient is True
            with pytest.raises(ImapError) as again:
                await conn.noop()
            assert again.value.reason == "connect"
        assert proxy.cuts == 1

        async with open_imap(config) as conn:
            await conn.select("INBOX")
            [fetched] = await conn.fetch([uid])
        assert fetched.raw == raw


async def test_server_restart_drops_the_session(
    dovecot: DovecotServer, mail_user: MailUser
) -> None:
    config = dovecot.imap_config(mail_user)
    async with open_imap(config) as conn:
        await conn.select("INBOX")
        await asyncio.to_thread(dovecot.restart)
        with pytest.raises(ImapError) as caught:
            await conn.noop()
        assert caught.value.transient is True
    await check_imap_login(config)
