"""The client's address as the login and reset limits count it: django-ipware with
TRUSTED_PROXY_COUNT (axes' settings), and an IPv6 client by its /64, since one
subscriber holds a whole /64 and could otherwise try from 2^64 addresses."""

from __future__ import annotations

import ipaddress

from axes.conf import settings
from django.http import HttpRequest
from ipware import ip as ipware


def client_key(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: axes locks on what this returns."""
    address, _ = ipware.get_client_ip(
        request,
        proxy_order=settings.AXES_IPWARE_PROXY_ORDER,
        proxy_count=settings.AXES_IPWARE_PROXY_COUNT,
        proxy_trusted_ips=settings.AXES_IPWARE_PROXY_TRUSTED_IPS,
        request_header_order=settings.AXES_IPWARE_META_PRECEDENCE_ORDER,
    )
    if not address:
        return None
    parsed = ipaddress.ip_address(address)
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    # The /64's first address: axes stores it in an IP address column.
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)


def client_address(request: HttpRequest) -> str:
    return client_key(request) or "unknown"
