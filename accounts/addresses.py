"""The client's address, as axes sees it: django-ipware with TRUSTED_PROXY_COUNT."""

from __future__ import annotations

from axes.helpers import get_client_ip_address
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    return get_client_ip_address(request) or "unknown"
