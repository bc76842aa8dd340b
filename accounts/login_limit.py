"""The per-address login limit, beside axes' per (account, address) lockout.

Every failed login counts against the client address; at LOGIN_IP_FAILURE_LIMIT
failures within LOGIN_FAILURE_WINDOW, the login pages answer 429 to that address.
A successful login does not reset this counter."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import render

from . import ratelimit
from .addresses import client_address

KIND = "login-failure"
LOGIN_VIEWS = frozenset({"login", "admin:login"})


def address_locked_out(request) -> bool:
    return (
        ratelimit.retry_at(
            KIND,
            client_address(request),
            limit=settings.LOGIN_IP_FAILURE_LIMIT,
            window=settings.LOGIN_FAILURE_WINDOW,
        )
        is not None
    )


def _count_failure(sender, credentials=None, request=None, **kwargs) -> None:
    if request is not None:
        ratelimit.record(KIND, client_address(request), window=settings.LOGIN_FAILURE_WINDOW)


def connect() -> None:
    user_login_failed.connect(_count_failure, dispatch_uid="accounts.login_limit")


class LoginAddressLimitMiddleware:
    """Refuses login posts from an address over its limit, before any password check."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or request.resolver_match is None:
            return None
        if request.resolver_match.view_name not in LOGIN_VIEWS:
            return None
        if address_locked_out(request):
            return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)
        return None
