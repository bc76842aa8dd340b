"""The host guard: which SMTP hosts a tenant may make the server connect to.

It runs before any socket is opened and returns the addresses it checked; the
transport connects to those very addresses, never to a second lookup, so a DNS
answer that changes between check and connect (rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

FORBIDDEN_SENTENCE = "Forbidden to use local or unknown host or not available port"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_CANONICAL_IPV4 = re.compile(
    r"^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$"
)
# Labels that inet_aton() reads as numbers: 127, 0177, 0x7f.
_NUMERIC_LABEL = re.compile(r"^(?:\d+|0x[0-9a-f]*)$")

# Ranges that are never a tenant's mail server, beyond what ipaddress already
# calls private, reserved, multicast and so on.
_NEVER = [
    ipaddress.ip_network(net)
    for net in (
        "100.64.0.0/10",  # carrier-grade NAT (also Alibaba's metadata 100.100.100.200)
        "198.18.0.0/15",  # benchmarking
        "192.0.0.0/24",  # IETF protocol assignments (Oracle metadata 192.0.0.192)
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",  # documentation
        "168.63.129.16/32",  # Azure's platform endpoint: public, but the cloud's own
        "169.254.0.0/16",  # link-local, incl. 169.254.169.254 metadata
        "240.0.0.0/4",
        "255.255.255.255/32",
        "2001:db8::/32",  # documentation
        "fd00:ec2::254/128",  # AWS metadata over IPv6 (also in fc00::/7)
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",  # site-local (deprecated)
        "64:ff9b:1::/48",  # local-use NAT64
        "ff00::/8",
        "2001::/32",  # Teredo tunnels hide the real IPv4 end point
        "100::/64",  # discard-only
    )
]
_NAT64 = [ipaddress.ip_network("64:ff9b::/96")]


NOT_A_HOST_NAME = "This is not a host name. Enter your provider's server, like smtp.gmail.com."
DOES_NOT_RESOLVE = (
    "This name does not resolve: check its spelling (for example smtp.office365.com)."
)
LOOKUP_TIMED_OUT = "This name could not be looked up in time: check its spelling, or try again."
NOT_PUBLIC = (
    "This name leads to a private or local network address, which YayPay never connects "
    "to. Enter your mail provider's public server name."
)


def port_not_allowed(port: int) -> str:
    allowed = ", ".join(str(p) for p in sorted(settings.SMTP_ALLOWED_PORTS))
    return f"Port {port} is not one YayPay may use. Choose one of: {allowed}."


class HostRefused(Exception):
    """The guard's refusal. Its text is the one sentence the page shows; `field` and
    `guidance` say which field failed and what to do, and never name an address the
    name resolved to (that would map internal networks). `reason` is for the audit
    trail and logs, and never holds a server's reply."""

    def __init__(
        self, reason: str, *, field: str = "host", guidance: str = "", unresolved: bool = False
    ):
        super().__init__(FORBIDDEN_SENTENCE)
        self.reason = reason
        self.field = field
        self.guidance = guidance
        # The name did not resolve (or DNS timed out): refused on the settings page,
        # but only a temporary failure for mail that was already configured.
        self.unresolved = unresolved


class ResolveFailed(Exception):
    def __init__(self, message: str, *, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True)
class CheckedHost:
    name: str
    port: int
    addresses: tuple[str, ...]


def normalise_host(value: str) -> str:
    """A DNS name or a canonical dotted IPv4 literal, lower-cased, or a ValidationError."""
    host = value.strip().lower()
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise ValidationError("Enter the SMTP server's name, for example smtp.gmail.com.")
    if any(ch in host for ch in "[]:"):
        raise ValidationError("Enter a host name or an IPv4 address; IPv6 addresses are not taken.")
    if len(host) > 253 or not host.isascii():
        raise ValidationError(
            "Enter a host name with letters, digits, hyphens and dots only "
            "(internationalised names in their xn-- form)."
        )
    labels = host.split(".")
    if all(_NUMERIC_LABEL.match(label) for label in labels):
        if not _CANONICAL_IPV4.match(host):
            raise ValidationError(
                "Write an IPv4 address as four decimal numbers without leading zeros, "
                "like 203.0.113.10."
            )
        return host
    if not all(_LABEL.match(label) for label in labels):
        raise ValidationError(
            "Enter a host name with letters, digits, hyphens and dots only, like smtp.gmail.com."
        )
    return host


def is_public_unicast(ip: IPAddress) -> bool:
    """True only for an address on the public internet that is not the cloud's own."""
    if any(ip in net for net in _NEVER if net.version == ip.version):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_unicast(embedded)
        if ip in ipaddress.ip_network("::/96"):  # IPv4-compatible (deprecated) and ::, ::1
            return False
    return (
        ip.is_global
        and not ip.is_multicast
        and not ip.is_reserved
        and not ip.is_loopback
        and not ip.is_link_local
        and not ip.is_unspecified
        and not ip.is_private
    )


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address that an IPv4-mapped, 6to4 or NAT64 address leads to."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def resolve(host: str, port: int, *, timeout: float) -> tuple[str, ...]:
    """Every address of `host`, looked up in a thread so that a slow resolver cannot
    hold the caller past `timeout` (getaddrinfo itself takes no time-out)."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return (str(literal),)

    outcome: dict = {}

    def lookup():
        try:
            outcome["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            outcome["error"] = error

    worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(max(timeout, 0))
    if worker.is_alive():
        raise ResolveFailed(f"DNS lookup of {host} timed out", timed_out=True)
    if "error" in outcome:
        raise ResolveFailed(f"{host} does not resolve")
    addresses: list[str] = []
    for family, _, _, _, sockaddr in outcome["infos"]:
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    if not addresses:
        raise ResolveFailed(f"{host} has no address")
    return tuple(addresses)


def _allowlisted(host: str, ip: IPAddress) -> bool:
    for entry in settings.SMTP_HOST_ALLOWLIST:
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            if entry == host:
                return True
            continue
        if network.version == ip.version and ip in network:
            return True
    return False


def check_host(host: str, port: int, *, timeout: float) -> CheckedHost:
    """Refuse (HostRefused) unless `port` is allowed and every address of `host` is public
    unicast or allowlisted; return the checked addresses to connect to."""
    if port not in settings.SMTP_ALLOWED_PORTS:
        raise HostRefused(
            f"port {port} is not in SMTP_ALLOWED_PORTS",
            field="port",
            guidance=port_not_allowed(port),
        )
    try:
        name = normalise_host(host)
    except ValidationError as error:
        raise HostRefused(f"{host!r} is not a host name", guidance=NOT_A_HOST_NAME) from error
    try:
        addresses = resolve(name, port, timeout=timeout)
    except ResolveFailed as error:
        guidance = LOOKUP_TIMED_OUT if error.timed_out else DOES_NOT_RESOLVE
        raise HostRefused(str(error), guidance=guidance, unresolved=True) from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not (is_public_unicast(ip) or _allowlisted(name, ip)):
            raise HostRefused(
                f"{name} resolves to {ip}, which is not a public address", guidance=NOT_PUBLIC
            )
    return CheckedHost(name=name, port=port, addresses=addresses)
