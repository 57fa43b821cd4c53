"""Find an address's IMAP and SMTP servers: the built-in table, then RFC 6186 SRV records, then
the provider behind the domain's MX hosts, then the usual ``imap.``/``smtp.`` names.

DNS goes through dnspython's async resolver with a short lifetime, so a slow or broken resolver
costs seconds, not the request. :func:`default_resolver` is the one place that builds it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cache
from typing import Literal

import dns.asyncresolver
import dns.exception
import dns.resolver
import structlog
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.IN.SRV import SRV

from mailmind.account.providers import (
    KindHint,
    MailProvider,
    Security,
    ServerSettings,
    for_domain,
    for_mx,
)

log = structlog.get_logger(__name__)

# Seconds for one lookup (all servers and retries included): the user is waiting for the form.
DNS_LIFETIME = 3.0

Source = Literal["table", "srv", "mx", "guess"]


@dataclass(frozen=True)
class Detected:
    imap: ServerSettings
    smtp: ServerSettings
    kind_hint: KindHint
    source: Source
    provider: str | None = None


@cache
def default_resolver() -> dns.asyncresolver.Resolver | None:
    """The system's resolver (``/etc/resolv.conf``), or None when there is no configuration:
    then only the table and the guess answer."""
    try:
        resolver = dns.asyncresolver.Resolver()
    except dns.resolver.NoResolverConfiguration:
        log.warning("dns_resolver_unconfigured")
        return None
    resolver.lifetime = DNS_LIFETIME
    return resolver


def _from_provider(provider: MailProvider, source: Source) -> Detected:
    return Detected(
        imap=provider.imap,
        smtp=provider.smtp,
        kind_hint=provider.kind_hint,
        source=source,
        provider=provider.name,
    )


def _guess_imap(domain: str) -> ServerSettings:
    return ServerSettings(host=f"imap.{domain}", port=993, security="ssl")


def _guess_smtp(domain: str) -> ServerSettings:
    return ServerSettings(host=f"smtp.{domain}", port=587, security="starttls")


async def _srv(
    resolver: dns.asyncresolver.Resolver, name: str, security: Security
) -> ServerSettings | None:
    try:
        answer = await resolver.resolve(name, "SRV", search=False, lifetime=DNS_LIFETIME)
    except dns.exception.DNSException:
        return None
    records = sorted(
        (r for r in answer if isinstance(r, SRV)), key=lambda r: (r.priority, -r.weight)
    )
    for record in records:
        target = record.target.to_text(omit_final_dot=True)
        # RFC 6186 §3.4: a target of "." says the service is not offered at this domain.
        if target and target != "." and record.port:
            return ServerSettings(host=target.lower(), port=int(record.port), security=security)
    return None


async def _mx_hosts(resolver: dns.asyncresolver.Resolver, domain: str) -> list[str]:
    try:
        answer = await resolver.resolve(domain, "MX", search=False, lifetime=DNS_LIFETIME)
    except dns.exception.DNSException:
        return []
    records = sorted((r for r in answer if isinstance(r, MX)), key=lambda r: r.preference)
    return [r.exchange.to_text(omit_final_dot=True) for r in records]


async def detect(domain: str, *, resolver: dns.asyncresolver.Resolver | None) -> Detected:
    """Settings for addresses at ``domain`` (ASCII form, lower case)."""
    provider = for_domain(domain)
    if provider is not None:
        return _from_provider(provider, "table")
    if resolver is not None:
        # RFC 6186 §3 with RFC 8314 §5.1: implicit TLS (imaps, submissions) before STARTTLS.
        imaps, imap, submissions, submission, mx = await asyncio.gather(
            _srv(resolver, f"_imaps._tcp.{domain}", "ssl"),
            _srv(resolver, f"_imap._tcp.{domain}", "starttls"),
            _srv(resolver, f"_submissions._tcp.{domain}", "ssl"),
            _srv(resolver, f"_submission._tcp.{domain}", "starttls"),
            _mx_hosts(resolver, domain),
        )
        found_imap, found_smtp = imaps or imap, submissions or submission
        if found_imap or found_smtp:
            return Detected(
                imap=found_imap or _guess_imap(domain),
                smtp=found_smtp or _guess_smtp(domain),
                kind_hint="imap",
                source="srv",
            )
        provider = for_mx(mx)
        if provider is not None:
            return _from_provider(provider, "mx")
    return Detected(
        imap=_guess_imap(domain), smtp=_guess_smtp(domain), kind_hint="imap", source="guess"
    )
