"""After logging out, the login page says so: "You are logged out."."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.signals import user_logged_out

LOGGED_OUT = "You are logged out."


def _say_logged_out(sender, request, user, **kwargs) -> None:
    # The session is flushed right after this signal; the message rides in the messages
    # cookie (FallbackStorage), which survives the flush.
    if request is not None:
        messages.success(request, LOGGED_OUT)


def connect() -> None:
    user_logged_out.connect(_say_logged_out, dispatch_uid="accounts.logout_notice")
