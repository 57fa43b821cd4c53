"""The SMTP adapter against real aiosmtpd servers: TLS modes, logins, refusals."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from mailmind.integrations.smtp import SmtpConfig, SmtpError, check_smtp_login, send_message
from tests.compose.servers import (
    ACCESS_TOKEN,
    PASSWORD,
    USERNAME,
    Handler,
    SmtpTestServer,
    run_smtp,
)
from tests.services import free_port


def raw_message(to: str = "bob@example.test") -> bytes:
    message = EmailMessage()
    message["From"] = USERNAME
    message["To"] = to
    message["Subject"] = "Grüße"
    message["Message-ID"] = "<test-1@example.test>"
    message.set_content("Hallo Bob,\nschöne Grüße.\n")
    return message.as_bytes()


def config(server: SmtpTestServer, security: str, **extra: object) -> SmtpConfig:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": security,
        "username": USERNAME,
        "ca_file": server.ca_file,
        "timeout": 10.0,
    }
    values.update(extra)
    return SmtpConfig(**values)  # type: ignore[arg-type]


async def test_send_delivers_to_every_envelope_recipient(tmp_path: Path) -> None:
    with run_smtp(tmp_path) as server:
        raw = raw_message()
        await send_message(
            config(server, "none"),
            sender=USERNAME,
            recipients=["bob@example.test", "hidden@example.test"],
            raw=raw,
        )
    [got] = server.handler.received
    assert got.sender == USERNAME
    assert got.recipients == ["bob@example.test", "hidden@example.test"]
    assert got.message["Subject"] == "Grüße"
    assert got.message["Message-ID"] == "<test-1@example.test>"


async def test_starttls_with_password_login(tmp_path: Path) -> None:
    with run_smtp(tmp_path, tls="starttls", auth=True) as server:
        await send_message(
            config(server, "starttls", password=PASSWORD),
            sender=USERNAME,
            recipients=["bob@example.test"],
            raw=raw_message(),
        )
    assert server.handler.logins and server.handler.logins[0] in {"PLAIN", "LOGIN"}
    assert len(server.handler.received) == 1


async def test_implicit_tls_with_password_login(tmp_path: Path) -> None:
    with run_smtp(tmp_path, tls="ssl", auth=True) as server:
        await check_smtp_login(config(server, "ssl", password=PASSWORD))
        await send_message(
            config(server, "ssl", password=PASSWORD),
            sender=USERNAME,
            recipients=["bob@example.test"],
            raw=raw_message(),
        )
    assert len(server.handler.received) == 1


async def test_xoauth2_login_with_access_token(tmp_path: Path) -> None:
    with run_smtp(tmp_path, tls="starttls", auth=True) as server:
        await check_smtp_login(config(server, "starttls", access_token=ACCESS_TOKEN))
    assert server.handler.logins == ["XOAUTH2"]


async def test_wrong_password_is_a_permanent_auth_error(tmp_path: Path) -> None:
    with (
        run_smtp(tmp_path, tls="starttls", auth=True) as server,
        pytest.raises(SmtpError) as caught,
    ):
        await send_message(
            config(server, "starttls", password="wrong"),
            sender=USERNAME,
            recipients=["bob@example.test"],
            raw=raw_message(),
        )
    assert caught.value.reason == "auth"
    assert caught.value.transient is False
    assert server.handler.received == []


async def test_wrong_token_is_an_auth_error(tmp_path: Path) -> None:
    with (
        run_smtp(tmp_path, tls="starttls", auth=True) as server,
        pytest.raises(SmtpError) as caught,
    ):
        await check_smtp_login(config(server, "starttls", access_token="expired"))
    assert caught.value.reason == "auth"


async def test_starttls_is_required_when_configured(tmp_path: Path) -> None:
    # A plain server: no STARTTLS offered.
    with run_smtp(tmp_path, auth=True) as server, pytest.raises(SmtpError) as caught:
        await check_smtp_login(config(server, "starttls", password=PASSWORD))
    assert caught.value.reason == "tls"
    assert server.handler.logins == []  # the password never left


async def test_untrusted_certificate_is_a_tls_error(tmp_path: Path) -> None:
    with run_smtp(tmp_path, tls="ssl", auth=True) as server, pytest.raises(SmtpError) as caught:
        await check_smtp_login(config(server, "ssl", password=PASSWORD, ca_file=None))
    assert caught.value.reason == "tls"
    assert caught.value.transient is False


async def test_plain_credentials_only_with_security_none(tmp_path: Path) -> None:
    with run_smtp(tmp_path, auth=True) as server:
        await check_smtp_login(config(server, "none", password=PASSWORD))
    assert server.handler.logins


async def test_refused_connection_is_transient(tmp_path: Path) -> None:
    with pytest.raises(SmtpError) as caught:
        await check_smtp_login(
            SmtpConfig(host="127.0.0.1", port=free_port(), security="none", username="x")
        )
    assert caught.value.reason == "connect"
    assert caught.value.transient is True


async def test_unknown_host_is_a_dns_error() -> None:
    with pytest.raises(SmtpError) as caught:
        await check_smtp_login(
            SmtpConfig(
                host="smtp.does-not-exist.invalid", port=587, security="starttls", username="x"
            )
        )
    assert caught.value.reason == "dns"


async def test_a_refused_recipient_sends_nothing(tmp_path: Path) -> None:
    handler = Handler(refuse={"ghost@example.test": 550})
    with run_smtp(tmp_path, handler=handler) as server:
        with pytest.raises(SmtpError) as caught:
            await send_message(
                config(server, "none"),
                sender=USERNAME,
                recipients=["bob@example.test", "ghost@example.test"],
                raw=raw_message(),
            )
        # The server still works normally afterwards: the refused envelope was reset.
        await send_message(
            config(server, "none"),
            sender=USERNAME,
            recipients=["bob@example.test"],
            raw=raw_message(),
        )
    assert caught.value.reason == "recipients"
    assert caught.value.invalid == ["ghost@example.test"]
    assert caught.value.transient is False
    assert [r.recipients for r in handler.received] == [["bob@example.test"]]


async def test_a_temporarily_refused_recipient_is_transient(tmp_path: Path) -> None:
    handler = Handler(refuse={"busy@example.test": 450})
    with run_smtp(tmp_path, handler=handler) as server, pytest.raises(SmtpError) as caught:
        await send_message(
            config(server, "none"),
            sender=USERNAME,
            recipients=["busy@example.test"],
            raw=raw_message(),
        )
    assert caught.value.reason == "recipients"
    assert caught.value.transient is True
    assert handler.received == []
