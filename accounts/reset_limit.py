"""How often a password reset may be asked for (per client address, answered by the
page) and mailed (per target address, decided by the task where nobody sees it).

Both count whether or not the address has an account, so they say nothing about
which addresses exist."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from . import ratelimit

WINDOW = timedelta(hours=1)
BY_CLIENT = "reset-by-client"
BY_EMAIL = "reset-by-email"


def admit(*, client: str) -> datetime | None:
    """Count this request from `client` and return None, or return when the next one
    will be admitted."""
    blocked = ratelimit.retry_at(
        BY_CLIENT, client, limit=settings.PASSWORD_RESET_IP_LIMIT, window=WINDOW
    )
    if blocked:
        return blocked
    ratelimit.record(BY_CLIENT, client, window=WINDOW)
    return None


def may_mail(login: str) -> bool:
    """Whether another reset mail may go to this address now; counts it if so.

    Checked by the task, not the request: the page answers the same either way, so a
    stranger asking for resets of someone's address cannot lock that person out of
    their own reset, only spend mails that never tell them anything."""
    key = ratelimit.hashed(login)
    if ratelimit.retry_at(BY_EMAIL, key, limit=settings.PASSWORD_RESET_EMAIL_LIMIT, window=WINDOW):
        return False
    ratelimit.record(BY_EMAIL, key, window=WINDOW)
    return True
