"""The aiosmtplib implementation of the SMTP adapter."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Literal

import aiosmtplib

from mailmind.integrations.smtp.base import SmtpConfig
from mailmind.integrations.smtp.errors import SmtpError

Stage = Literal["connect", "tls", "auth", "send"]

# DATA of a 25 MB message takes longer than a command: allow for a slow uplink (~50 kB/s).
_DATA_BYTES_PER_SECOND = 50_000


def _tls_context(config: SmtpConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if config.ca_file:
        # In addition to the system CAs, not instead of them.
        context.load_verify_locations(cafile=config.ca_file)
    return context


def _translate(exc: BaseException, stage: Stage) -> SmtpError:
    """An aiosmtplib/socket error as an :class:`SmtpError`, by what failed and when."""
    if isinstance(exc, SmtpError):
        return exc
    if isinstance(exc, TimeoutError):  # aiosmtplib's timeouts subclass it
        return SmtpError(
            "timeout", f"The SMTP server did not answer in time ({stage})", transient=True
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        code = exc.code
        reason: Literal["connect", "tls", "auth", "protocol"] = (
            "protocol" if stage == "send" else stage
        )
        return SmtpError(
            reason, f"{code} {exc.message}".strip(), transient=400 <= code < 500, code=code
        )
    cause: BaseException = exc
    if isinstance(exc, aiosmtplib.SMTPConnectError) and exc.__cause__ is not None:
        cause = exc.__cause__
    if isinstance(cause, socket.gaierror):
        # Only a temporary resolver failure may resolve later; an unknown host will not.
        return SmtpError(
            "dns",
            f"The SMTP host cannot be resolved: {cause}",
            transient=cause.errno == socket.EAI_AGAIN,
        )
    if isinstance(cause, ssl.SSLError) or stage == "tls":
        return SmtpError("tls", f"TLS with the SMTP server failed: {cause}", transient=False)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | ConnectionError | OSError):
        return SmtpError(
            "connect", f"Connection to the SMTP server failed: {cause}", transient=True
        )
    if stage == "auth":
        return SmtpError("auth", str(exc), transient=False)
    return SmtpError("protocol", f"Unexpected SMTP error: {exc}", transient=False)


async def _starttls(smtp: aiosmtplib.SMTP) -> None:
    await smtp.ehlo()
    if not smtp.supports_extension("starttls"):
        # RFC 3207 §4: a client that requires TLS must not go on without it.
        raise SmtpError("tls", "The SMTP server does not offer STARTTLS", transient=False)
    await smtp.starttls()


async def _authenticate(smtp: aiosmtplib.SMTP, config: SmtpConfig) -> None:
    if config.access_token is None and config.password is None:
        return
    if config.security != "none" and smtp.get_transport_info("sslcontext") is None:
        raise SmtpError("tls", "Refusing to send credentials without TLS", transient=False)
    if config.access_token is not None:
        await smtp.auth_xoauth2(config.username, config.access_token)
    else:
        assert config.password is not None
        await smtp.login(config.username, config.password)


@asynccontextmanager
async def _session(config: SmtpConfig) -> AsyncIterator[aiosmtplib.SMTP]:
    """A connected, secured and authenticated SMTP session, closed on exit."""
    smtp = aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        timeout=config.timeout,
        use_tls=config.security == "ssl",
        # STARTTLS is done explicitly below, so that its absence is an error, not a downgrade.
        start_tls=False,
        tls_context=_tls_context(config) if config.security != "none" else None,
    )
    try:
        await smtp.connect()
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise _translate(exc, "connect") from exc
    try:
        if config.security == "starttls":
            try:
                await _starttls(smtp)
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise _translate(exc, "tls") from exc
        try:
            await _authenticate(smtp, config)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _translate(exc, "auth") from exc
        yield smtp
    finally:
        try:
            if smtp.is_connected:
                await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()


async def check_smtp_login(config: SmtpConfig) -> None:
    """Connect, secure the connection (TLS or STARTTLS) and log in, all within
    ``config.timeout``; raise :class:`SmtpError` when any step fails."""
    try:
        async with asyncio.timeout(config.timeout):
            async with _session(config) as smtp:
                await smtp.noop()
    except TimeoutError as exc:
        raise _translate(exc, "connect") from exc
    except aiosmtplib.SMTPException as exc:
        raise _translate(exc, "send") from exc


async def send_message(
    config: SmtpConfig, *, sender: str, recipients: Sequence[str], raw: bytes
) -> None:
    """Submit ``raw`` (an RFC 5322 message) from ``sender`` to ``recipients`` (the envelope:
    To, Cc and Bcc).

    All or nothing: when the server refuses any recipient, the transaction is reset before DATA
    and :class:`SmtpError` (``reason="recipients"``, the refused addresses in ``invalid``) is
    raised, so no one receives a message that others did not. Any other refusal or failure
    raises :class:`SmtpError` too; once this returns, the server has accepted the message.
    """
    if not recipients:
        raise SmtpError("recipients", "No recipients", transient=False)
    addresses = [sender, *recipients]
    utf8 = any(not address.isascii() for address in addresses)
    async with _session(config) as smtp:
        try:
            options: list[str] = []
            if utf8:
                if not smtp.supports_extension("smtputf8"):
                    raise SmtpError(
                        "recipients",
                        "The SMTP server does not accept internationalised addresses",
                        transient=False,
                        invalid=[a for a in recipients if not a.isascii()],
                    )
                options.append("SMTPUTF8")
            if not raw.isascii() and smtp.supports_extension("8bitmime"):
                options.append("BODY=8BITMIME")
            if smtp.supports_extension("size"):
                # RFC 1870: lets the server refuse an oversized message before it is transferred.
                options.insert(0, f"SIZE={len(raw)}")
            encoding = "utf-8" if utf8 else "ascii"
            await smtp.mail(sender, options=options, encoding=encoding)
            refused: list[aiosmtplib.SMTPRecipientRefused] = []
            for recipient in recipients:
                try:
                    await smtp.rcpt(recipient, encoding=encoding)
                except aiosmtplib.SMTPRecipientRefused as exc:
                    refused.append(exc)
            if refused:
                # The session ends here anyway; nothing was sent.
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await smtp.rset()
                raise SmtpError(
                    "recipients",
                    "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in refused),
                    transient=all(400 <= r.code < 500 for r in refused),
                    invalid=[r.recipient for r in refused],
                    code=refused[0].code,
                )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise _translate(exc, "send") from exc
        try:
            await smtp.data(raw, timeout=config.timeout + len(raw) / _DATA_BYTES_PER_SECOND)
        except (aiosmtplib.SMTPException, OSError) as exc:
            error = _translate(exc, "send")
            # Without the server's reply to DATA nobody knows whether it took the message.
            error.maybe_delivered = not isinstance(exc, aiosmtplib.SMTPResponseException)
            raise error from exc
