"""How often a password reset may be asked for: per client address and per target address.

Both count requests whether or not the address has an account, so the limit
says nothing about which addresses exist."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from . import ratelimit

WINDOW = timedelta(hours=1)
BY_CLIENT = "reset-by-client"
BY_EMAIL = "reset-by-email"


def admit(*, client: str, login: str) -> datetime | None:
    """Count this request and return None, or return when the next one will be admitted."""
    email_key = ratelimit.hashed(login)
    blocked = [
        ratelimit.retry_at(
            BY_CLIENT, client, limit=settings.PASSWORD_RESET_IP_LIMIT, window=WINDOW
        ),
        ratelimit.retry_at(
            BY_EMAIL, email_key, limit=settings.PASSWORD_RESET_EMAIL_LIMIT, window=WINDOW
        ),
    ]
    if any(blocked):
        return max(at for at in blocked if at)
    ratelimit.record(BY_CLIENT, client, window=WINDOW)
    ratelimit.record(BY_EMAIL, email_key, window=WINDOW)
    return None
