"""The host guard refuses every kind of non-public address before any socket opens."""

from __future__ import annotations

import socket
import threading

import pytest
from django.core.exceptions import ValidationError

from routes.hostguard import (
    FORBIDDEN_SENTENCE,
    HostRefused,
    check_host,
    normalise_host,
)

# (address a DNS answer may hold, category)
HOSTILE_ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback v6"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("fd12:3456::1", "unique local v6"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local v6"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("2001:db8::1", "documentation v6"),
    ("224.0.0.1", "multicast"),
    ("239.1.2.3", "multicast"),
    ("ff02::1", "multicast v6"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified v6"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:10.0.0.1", "IPv4-mapped private"),
    ("::ffff:169.254.169.254", "IPv4-mapped metadata"),
    ("::127.0.0.1", "IPv4-compatible loopback"),
    ("::8.8.8.8", "IPv4-compatible (deprecated form)"),
    ("2002:7f00:1::1", "6to4 of loopback"),
    ("2002:a00:1::1", "6to4 of private"),
    ("64:ff9b::7f00:1", "NAT64 of loopback"),
    ("64:ff9b::a9fe:a9fe", "NAT64 of metadata"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("fec0::1", "site-local v6"),
    ("64:ff9b:1:8:8:8:808:808", "local-use NAT64 with public-looking tail"),
    ("169.254.169.254", "AWS/GCP/Azure metadata"),
    ("fd00:ec2::254", "AWS metadata v6"),
    ("100.100.100.200", "Alibaba metadata"),
    ("168.63.129.16", "Azure platform endpoint"),
    ("192.0.0.192", "Oracle metadata"),
]

NON_CANONICAL_LITERALS = [
    "2130706433",  # decimal
    "0x7f000001",  # hexadecimal
    "0x7f.1",  # hexadecimal, shortened
    "127.1",  # shortened
    "0177.0.0.1",  # octal
    "127.0.0.01",  # leading zero
    "017700000001",  # octal, whole
    "127.0.0.1.5",  # five parts
]


@pytest.fixture
def no_sockets(monkeypatch):
    """Records any attempt to open a connection; the guard must make none."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.fixture
def dns(monkeypatch):
    """A resolver stand-in: name -> list of addresses (or an exception)."""
    answers: dict[str, object] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        answer = answers[host]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return answer()
        infos = []
        for address in answer:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
            infos.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return infos

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.fixture(autouse=True)
def guard_settings(settings):
    settings.SMTP_ALLOWED_PORTS = [25, 465, 587, 2525]
    settings.SMTP_HOST_ALLOWLIST = []


@pytest.mark.parametrize(
    "address,category", HOSTILE_ADDRESSES, ids=[c for _, c in HOSTILE_ADDRESSES]
)
def test_it_refuses_a_name_that_resolves_to_a_non_public_address(
    dns, no_sockets, address, category
):
    dns["mail.hostile.example"] = [address]
    with pytest.raises(HostRefused) as refusal:
        check_host("mail.hostile.example", 587, timeout=2)
    assert str(refusal.value) == FORBIDDEN_SENTENCE
    assert no_sockets == []


@pytest.mark.parametrize(
    "address", [a for a, _ in HOSTILE_ADDRESSES if ":" not in a], ids=lambda a: a
)
def test_it_refuses_a_non_public_ipv4_literal(no_sockets, address):
    with pytest.raises(HostRefused):
        check_host(address, 25, timeout=2)
    assert no_sockets == []


def test_it_refuses_a_name_when_any_of_its_addresses_is_private(dns, no_sockets):
    dns["mixed.example"] = ["8.8.8.8", "10.0.0.5"]
    with pytest.raises(HostRefused):
        check_host("mixed.example", 587, timeout=2)


@pytest.mark.parametrize("literal", NON_CANONICAL_LITERALS)
def test_it_refuses_non_canonical_ipv4_literals(no_sockets, literal):
    with pytest.raises(ValidationError):
        normalise_host(literal)
    with pytest.raises(HostRefused):
        check_host(literal, 25, timeout=2)
    assert no_sockets == []


@pytest.mark.parametrize(
    "value",
    [
        "[::1]",
        "::1",
        "smtp_gmail.com",
        "smtp gmail.com",
        "-bad.example",
        "ex\u00e4mple.com",
        "a" * 64 + ".com",
        "",
    ],
)
def test_it_refuses_malformed_host_names(value):
    with pytest.raises(ValidationError):
        normalise_host(value)


def test_it_normalises_case_and_a_trailing_dot():
    assert normalise_host("SMTP.Gmail.COM.") == "smtp.gmail.com"
    assert normalise_host("xn--exmple-cua.com") == "xn--exmple-cua.com"
    assert normalise_host("8.8.8.8") == "8.8.8.8"


def test_it_refuses_a_port_outside_the_allowed_list_before_any_lookup(dns, no_sockets):
    dns["smtp.example.com"] = RuntimeError("the resolver must not be asked")
    with pytest.raises(HostRefused):
        check_host("smtp.example.com", 8025, timeout=2)


def test_it_refuses_a_name_that_does_not_resolve(dns, no_sockets):
    dns["nowhere.example"] = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    with pytest.raises(HostRefused) as refusal:
        check_host("nowhere.example", 587, timeout=2)
    assert str(refusal.value) == FORBIDDEN_SENTENCE


def test_a_hanging_resolver_is_given_up_on(dns, no_sockets):
    release = threading.Event()
    dns["slow.example"] = lambda: (release.wait(30), [])[1]
    try:
        with pytest.raises(HostRefused) as refusal:
            check_host("slow.example", 587, timeout=0.2)
        # The guard answered while the lookup was still stuck.
        assert not release.is_set()
        assert "timed out" in refusal.value.reason
    finally:
        release.set()


def test_it_returns_the_public_addresses_it_checked(dns, no_sockets):
    dns["smtp.example.com"] = ["8.8.8.8", "2607:f8b0:4004:c1b::6c"]
    checked = check_host("SMTP.example.com", 587, timeout=2)
    assert checked.name == "smtp.example.com"
    assert checked.addresses == ("8.8.8.8", "2607:f8b0:4004:c1b::6c")


def test_the_allowlist_admits_a_private_relay_by_cidr_or_name(dns, no_sockets, settings):
    dns["relay.corp.example"] = ["10.1.2.3"]
    dns["other.corp.example"] = ["192.168.7.7"]
    settings.SMTP_HOST_ALLOWLIST = ["10.0.0.0/8", "other.corp.example"]
    assert check_host("relay.corp.example", 25, timeout=2).addresses == ("10.1.2.3",)
    assert check_host("other.corp.example", 25, timeout=2).addresses == ("192.168.7.7",)
    dns["third.corp.example"] = ["192.168.7.8"]
    with pytest.raises(HostRefused):
        check_host("third.corp.example", 25, timeout=2)
