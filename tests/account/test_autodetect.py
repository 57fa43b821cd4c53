"""Server autodetection: the built-in table, RFC 6186 SRV records and MX hosts served by a small
local DNS server (dnspython's message API over UDP), and the imap./smtp. guess."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import dns.asyncresolver
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from mailmind.account import autodetect
from mailmind.account.providers import PROVIDERS, for_domain
from tests.account.conftest import signed_in
from tests.conftest import assert_error

ZONE: dict[tuple[str, str], list[str]] = {
    ("_imaps._tcp.srv.example.", "SRV"): [
        "10 0 993 imap.mail.srv.example.",
        "20 0 993 backup.srv.example.",
    ],
    ("_imap._tcp.srv.example.", "SRV"): ["0 0 143 imap.mail.srv.example."],
    ("_submissions._tcp.srv.example.", "SRV"): ["0 0 0 ."],
    ("_submission._tcp.srv.example.", "SRV"): ["0 1 587 smtp.mail.srv.example."],
    ("_imap._tcp.starttls.example.", "SRV"): ["0 0 143 mx.starttls.example."],
    ("workspace.example.", "MX"): ["1 aspmx.l.google.com.", "5 alt1.aspmx.l.google.com."],
    ("contoso.example.", "MX"): ["0 contoso-test.mail.protection.outlook.com."],
    ("plain.example.", "MX"): ["10 mx.plain.example."],
}


class LocalDNS(asyncio.DatagramProtocol):
    """Answers from ZONE; NXDOMAIN for names it does not know."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.questions: list[str] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.questions.append(f"{name} {rdtype}")
        records = ZONE.get((name, rdtype))
        if records:
            response.answer.append(
                dns.rrset.from_text_list(question.name, 300, "IN", rdtype, records)
            )
        elif not any(known == name for known, _ in ZONE):
            response.set_rcode(dns.rcode.NXDOMAIN)
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


@pytest.fixture
async def local_dns(monkeypatch) -> AsyncIterator[LocalDNS]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(LocalDNS, local_addr=("127.0.0.1", 0))
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = transport.get_extra_info("sockname")[1]
    resolver.lifetime = 2.0
    monkeypatch.setattr(autodetect, "default_resolver", lambda: resolver)
    yield protocol
    transport.close()


async def detect(client, headers, email: str) -> dict[str, Any]:
    response = await client.get(
        "/api/accounts/autodetect", params={"email": email}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_every_table_domain_belongs_to_one_provider():
    domains = [d for p in PROVIDERS for d in p.domains]
    assert len(domains) == len(set(domains))
    for provider in PROVIDERS:
        for server in (provider.imap, provider.smtp):
            assert server.security in ("ssl", "starttls")
    assert for_domain("GoogleMail.com.").kind_hint == "gmail"  # type: ignore[union-attr]


async def test_table_domains_answer_without_dns(client, mail_runtime, local_dns):
    _, headers = await signed_in(client, mail_runtime)
    gmail = await detect(client, headers, "someone@googlemail.com")
    assert gmail == {
        "imap": {"host": "imap.gmail.com", "port": 993, "security": "ssl"},
        "smtp": {"host": "smtp.gmail.com", "port": 465, "security": "ssl"},
        "kind_hint": "gmail",
        "source": "table",
        "provider": "Gmail",
    }
    hotmail = await detect(client, headers, "someone@hotmail.com")
    assert hotmail["imap"]["host"] == "outlook.office365.com"
    assert hotmail["smtp"] == {"host": "smtp.office365.com", "port": 587, "security": "starttls"}
    assert hotmail["kind_hint"] == "microsoft"
    gmx = await detect(client, headers, "jemand@GMX.at")
    assert (gmx["imap"]["host"], gmx["smtp"]["host"], gmx["kind_hint"]) == (
        "imap.gmx.net",
        "mail.gmx.net",
        "imap",
    )
    icloud = await detect(client, headers, "someone@mac.com")
    assert icloud["imap"]["host"] == "imap.mail.me.com"
    tonline = await detect(client, headers, "jemand@t-online.de")
    assert tonline["imap"]["host"] == "secureimap.t-online.de"
    assert local_dns.questions == []


async def test_srv_records_prefer_implicit_tls_and_skip_unavailable_targets(
    client, mail_runtime, local_dns
):
    _, headers = await signed_in(client, mail_runtime)
    found = await detect(client, headers, "user@srv.example")
    assert found["source"] == "srv"
    assert found["kind_hint"] == "imap"
    # _imaps (priority 10 first) wins over _imap; _submissions says "." so _submission answers.
    assert found["imap"] == {"host": "imap.mail.srv.example", "port": 993, "security": "ssl"}
    assert found["smtp"] == {"host": "smtp.mail.srv.example", "port": 587, "security": "starttls"}
    assert "_imaps._tcp.srv.example. SRV" in local_dns.questions


async def test_srv_for_imap_only_guesses_smtp(client, mail_runtime, local_dns):
    _, headers = await signed_in(client, mail_runtime)
    found = await detect(client, headers, "user@starttls.example")
    assert found["imap"] == {"host": "mx.starttls.example", "port": 143, "security": "starttls"}
    assert found["smtp"] == {"host": "smtp.starttls.example", "port": 587, "security": "starttls"}
    assert found["source"] == "srv"


async def test_mx_hosts_reveal_the_provider_of_a_custom_domain(client, mail_runtime, local_dns):
    _, headers = await signed_in(client, mail_runtime)
    workspace = await detect(client, headers, "team@workspace.example")
    assert workspace["source"] == "mx"
    assert workspace["kind_hint"] == "gmail"
    assert workspace["imap"]["host"] == "imap.gmail.com"
    contoso = await detect(client, headers, "max@contoso.example")
    assert (contoso["kind_hint"], contoso["smtp"]["host"]) == ("microsoft", "smtp.office365.com")


async def test_unknown_domains_get_the_imap_smtp_guess(client, mail_runtime, local_dns):
    _, headers = await signed_in(client, mail_runtime)
    for address in ("user@plain.example", "user@nowhere.example"):
        domain = address.split("@")[1]
        found = await detect(client, headers, address)
        assert found == {
            "imap": {"host": f"imap.{domain}", "port": 993, "security": "ssl"},
            "smtp": {"host": f"smtp.{domain}", "port": 587, "security": "starttls"},
            "kind_hint": "imap",
            "source": "guess",
            "provider": None,
        }


async def test_without_a_resolver_the_guess_still_answers(client, mail_runtime, monkeypatch):
    monkeypatch.setattr(autodetect, "default_resolver", lambda: None)
    _, headers = await signed_in(client, mail_runtime)
    found = await detect(client, headers, "user@bücher.example")
    assert found["imap"]["host"] == "imap.xn--bcher-kva.example"


async def test_invalid_address_is_val004_and_anonymous_callers_are_refused(
    client, mail_runtime, local_dns
):
    _, headers = await signed_in(client, mail_runtime)
    response = await client.get(
        "/api/accounts/autodetect", params={"email": "no-at-sign"}, headers=headers
    )
    assert_error(response, 400, "VAL004")
    assert_error(await client.get("/api/accounts/autodetect", headers=headers), 400, "VAL001")
    anonymous = await client.get("/api/accounts/autodetect", params={"email": "a@gmail.com"})
    assert_error(anonymous, 401, "AUTH003")
