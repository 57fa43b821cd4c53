"""Sending mail through the user's SMTP server (aiosmtplib): implicit TLS or required STARTTLS,
AUTH PLAIN/LOGIN or XOAUTH2, and errors that say what failed and whether a retry can help."""

from mailmind.integrations.smtp.base import SmtpConfig, SmtpSecurity
from mailmind.integrations.smtp.client import check_smtp_login, send_message
from mailmind.integrations.smtp.errors import SmtpError, SmtpReason

__all__ = [
    "SmtpConfig",
    "SmtpError",
    "SmtpReason",
    "SmtpSecurity",
    "check_smtp_login",
    "send_message",
]
