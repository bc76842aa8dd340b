"""Whole days in a tenant's time zone as the UTC instants the outbox stores."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo


def day_start(day: datetime.date, time_zone: str) -> datetime.datetime:
    """The first instant of `day` in `time_zone` (aware). Where a DST change skips local
    midnight, zoneinfo gives the instant the clocks jump to, still inside that day."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=ZoneInfo(time_zone))


def created_between(
    date_from: datetime.date | None, date_to: datetime.date | None, time_zone: str
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """(from, before): created_at >= from and created_at < before cover the days
    date_from to date_to, both included; None where that end is open."""
    start = day_start(date_from, time_zone) if date_from else None
    end = day_start(date_to + datetime.timedelta(days=1), time_zone) if date_to else None
    return start, end
