"""System mail (verification, reset, notices) through ``SYSTEM_SMTP_URL``.

``smtp://user:pass@host:587`` uses STARTTLS when offered, ``smtps://…:465`` implicit TLS.
Without ``SYSTEM_SMTP_URL`` the mail is not sent: its text, links included, is written to the
log instead, which is how a single-user installation verifies its first account.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib
import structlog

log = structlog.get_logger(__name__)


class MailDeliveryError(Exception):
    """The system SMTP server did not take the message (transient: the job retries)."""


async def send_system_mail(
    smtp_url: str | None, *, sender: str, to: str, subject: str, body: str
) -> bool:
    """Send a plain-text mail; return False when no server is configured (mail logged)."""
    if not smtp_url:
        log.warning("system_mail_logged", to=to, subject=subject, body=body)
        return False
    parts = urlsplit(smtp_url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise MailDeliveryError("SYSTEM_SMTP_URL must look like smtp://user:pass@host:587")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=parts.hostname)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    implicit_tls = parts.scheme == "smtps"
    try:
        await aiosmtplib.send(
            message,
            hostname=parts.hostname,
            port=parts.port or (465 if implicit_tls else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit_tls,
            start_tls=None if not implicit_tls else False,
            timeout=20,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise MailDeliveryError(f"{type(exc).__name__}: {exc}") from exc
    return True
