"""Creating, revoking and checking API tokens, and the per-token rate limit.

A token is `ypk_` and 43 URL-safe characters (256 random bits); only its SHA-256 is
stored, so looking it up by hash needs no constant-time comparison of secrets. The rate
limit is a fixed one-minute window kept on the token's own row: one UPDATE per request
admits it (and records last_used_at) or refuses it, shared by every web process.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from datetime import datetime, timedelta

from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from yaypay_mail.models import Tenant

from .models import ApiToken

TOKEN_PREFIX = "ypk_"
PREFIX_LENGTH = 12  # "ypk_" and 8 random characters: enough to tell tokens apart
WINDOW = timedelta(minutes=1)
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_\-]{1,200}")


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(*, tenant: Tenant, name: str, created_by=None) -> tuple[ApiToken, str]:
    """A new token and its only plain-text copy, to show once."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        tenant=tenant,
        name=name,
        prefix=raw[:PREFIX_LENGTH],
        token_hash=token_hash(raw),
        created_by=created_by,
    )
    return token, raw


def token_revoke(token: ApiToken) -> None:
    """Revoke at once; revoking again keeps the first time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])


def token_lookup(raw: str) -> ApiToken | None:
    """The active token for this plain text, with its tenant; None otherwise."""
    if not _TOKEN_SHAPE.fullmatch(raw):
        return None
    return (
        ApiToken.objects.select_related("tenant")
        .filter(token_hash=token_hash(raw), revoked_at__isnull=True)
        .first()
    )


def token_active(token: ApiToken) -> bool:
    return ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).exists()


def admit(token: ApiToken, *, limit: int, now: datetime | None = None) -> int | None:
    """Count one request in the token's current minute: None when admitted, else the
    seconds until the next minute begins (for Retry-After). Refused requests are not
    counted. Also records last_used_at."""
    now = now or timezone.now()
    window = now.replace(second=0, microsecond=0)
    admitted = (
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True)
        .filter(Q(window_start__isnull=True) | ~Q(window_start=window) | Q(window_count__lt=limit))
        .update(
            window_count=Case(
                When(window_start=window, then=F("window_count") + 1), default=Value(1)
            ),
            window_start=window,
            last_used_at=now,
        )
    )
    if admitted:
        return None
    return max(1, math.ceil((window + WINDOW - now).total_seconds()))
