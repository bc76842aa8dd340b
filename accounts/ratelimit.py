"""Sliding-window counters in the database, shared by every web process."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.utils import timezone

from .models import RateEvent


def hashed(value: str) -> str:
    """A key that does not keep the value itself (addresses typed by anyone)."""
    return hashlib.sha256(value.encode()).hexdigest()


def count(kind: str, key: str, *, window: timedelta, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return RateEvent.objects.filter(kind=kind, key=key, at__gt=now - window).count()


def record(kind: str, key: str, *, window: timedelta, now: datetime | None = None) -> None:
    """Count one event, and forget this kind's events older than the window."""
    now = now or timezone.now()
    RateEvent.objects.filter(kind=kind, at__lte=now - window).delete()
    RateEvent.objects.create(kind=kind, key=key, at=now)


def retry_at(
    kind: str, key: str, *, limit: int, window: timedelta, now: datetime | None = None
) -> datetime | None:
    """None while under `limit` events in the window; else when the oldest one leaves it."""
    now = now or timezone.now()
    recent = list(
        RateEvent.objects.filter(kind=kind, key=key, at__gt=now - window)
        .order_by("-at")
        .values_list("at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return None
    return recent[-1] + window
