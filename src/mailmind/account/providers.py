"""Built-in IMAP/SMTP settings of common mail providers (PRODUCT_SPEC §2.2 "Autodetect").

Each entry follows the provider's own help pages: implicit TLS (``ssl``) where the provider offers
it, STARTTLS where that is the documented submission port. ``kind_hint`` tells the client whether
the provider is better connected through OAuth (``gmail``, ``microsoft``) than with a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Security = Literal["ssl", "starttls", "none"]
KindHint = Literal["imap", "gmail", "microsoft"]


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    security: Security


@dataclass(frozen=True)
class MailProvider:
    name: str
    imap: ServerSettings
    smtp: ServerSettings
    kind_hint: KindHint
    domains: tuple[str, ...]
    # Suffixes of MX hosts that identify the provider behind a custom domain.
    mx_suffixes: tuple[str, ...] = ()


def _ssl(host: str, port: int = 993) -> ServerSettings:
    return ServerSettings(host=host, port=port, security="ssl")


def _starttls(host: str, port: int = 587) -> ServerSettings:
    return ServerSettings(host=host, port=port, security="starttls")


GMAIL = MailProvider(
    name="Gmail",
    imap=_ssl("imap.gmail.com"),
    smtp=_ssl("smtp.gmail.com", 465),
    kind_hint="gmail",
    domains=("gmail.com", "googlemail.com"),
    mx_suffixes=("google.com", "googlemail.com"),
)

MICROSOFT = MailProvider(
    name="Outlook.com / Microsoft 365",
    imap=_ssl("outlook.office365.com"),
    smtp=_starttls("smtp.office365.com"),
    kind_hint="microsoft",
    domains=(
        "outlook.com",
        "outlook.de",
        "outlook.at",
        "outlook.fr",
        "hotmail.com",
        "hotmail.de",
        "hotmail.co.uk",
        "hotmail.fr",
        "live.com",
        "live.de",
        "live.at",
        "live.co.uk",
        "msn.com",
    ),
    mx_suffixes=("mail.protection.outlook.com", "olc.protection.outlook.com"),
)

PROVIDERS: tuple[MailProvider, ...] = (
    GMAIL,
    MICROSOFT,
    MailProvider(
        name="Yahoo",
        imap=_ssl("imap.mail.yahoo.com"),
        smtp=_ssl("smtp.mail.yahoo.com", 465),
        kind_hint="imap",
        domains=(
            "yahoo.com",
            "yahoo.de",
            "yahoo.co.uk",
            "yahoo.fr",
            "yahoo.at",
            "ymail.com",
            "rocketmail.com",
        ),
        mx_suffixes=("yahoodns.net",),
    ),
    MailProvider(
        name="iCloud",
        imap=_ssl("imap.mail.me.com"),
        smtp=_starttls("smtp.mail.me.com"),
        kind_hint="imap",
        domains=("icloud.com", "me.com", "mac.com"),
    ),
    MailProvider(
        name="GMX",
        imap=_ssl("imap.gmx.net"),
        smtp=_starttls("mail.gmx.net"),
        kind_hint="imap",
        domains=("gmx.de", "gmx.net", "gmx.at", "gmx.ch"),
    ),
    MailProvider(
        name="GMX (international)",
        imap=_ssl("imap.gmx.com"),
        smtp=_starttls("mail.gmx.com"),
        kind_hint="imap",
        domains=("gmx.com",),
    ),
    MailProvider(
        name="WEB.DE",
        imap=_ssl("imap.web.de"),
        smtp=_starttls("smtp.web.de"),
        kind_hint="imap",
        domains=("web.de",),
    ),
    MailProvider(
        name="T-Online",
        imap=_ssl("secureimap.t-online.de"),
        smtp=_ssl("securesmtp.t-online.de", 465),
        kind_hint="imap",
        domains=("t-online.de", "magenta.de"),
    ),
    MailProvider(
        name="Posteo",
        imap=_ssl("posteo.de"),
        smtp=_ssl("posteo.de", 465),
        kind_hint="imap",
        domains=(
            "posteo.de",
            "posteo.net",
            "posteo.at",
            "posteo.ch",
            "posteo.eu",
            "posteo.org",
            "posteo.me",
            "posteo.uk",
            "posteo.us",
        ),
        mx_suffixes=("posteo.de",),
    ),
    MailProvider(
        name="mailbox.org",
        imap=_ssl("imap.mailbox.org"),
        smtp=_ssl("smtp.mailbox.org", 465),
        kind_hint="imap",
        domains=("mailbox.org",),
        mx_suffixes=("mailbox.org",),
    ),
    MailProvider(
        name="Fastmail",
        imap=_ssl("imap.fastmail.com"),
        smtp=_ssl("smtp.fastmail.com", 465),
        kind_hint="imap",
        domains=("fastmail.com", "fastmail.fm", "fastmail.net", "fastmail.org", "fastmail.de"),
        mx_suffixes=("messagingengine.com",),
    ),
)

_BY_DOMAIN = {domain: provider for provider in PROVIDERS for domain in provider.domains}

# The servers of the OAuth account kinds (POST /api/accounts/oauth/{provider}).
OAUTH_PROVIDERS: dict[str, MailProvider] = {"gmail": GMAIL, "microsoft": MICROSOFT}


def for_domain(domain: str) -> MailProvider | None:
    """The provider whose addresses end in ``@domain``."""
    return _BY_DOMAIN.get(domain.lower().rstrip("."))


def for_mx(hosts: list[str]) -> MailProvider | None:
    """The provider behind a custom domain, recognised by its MX hosts."""
    for host in hosts:
        name = host.lower().rstrip(".")
        for provider in PROVIDERS:
            if any(name == s or name.endswith("." + s) for s in provider.mx_suffixes):
                return provider
    return None
