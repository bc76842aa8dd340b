"""Per-tenant sending limits: how many more messages may go out right now, and, when
none may, until when the tenant is held."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import OuterRef, Subquery

from settings_app.models import OutgoingEmailSettings
from settings_app.oauth_providers import ROUTE_CAPS

from .models import DeliveryAttempt, OutboundEmail, ReminderSettings, Status

WINDOW = timedelta(minutes=1)


def local_day_start(now: datetime, time_zone: str) -> datetime:
    local = now.astimezone(ZoneInfo(time_zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def next_local_midnight(now: datetime, time_zone: str) -> datetime:
    # Wall-clock arithmetic on an aware datetime: the next day's 00:00 in the zone, with
    # that day's UTC offset (a DST change in between is accounted for).
    start = local_day_start(now, time_zone)
    return (start + timedelta(days=1)).replace(fold=0)


@dataclass(frozen=True)
class Allowance:
    remaining: int
    # When remaining <= 0: the earliest time it may be positive again (beat's drain skips
    # the tenant until then). None while there is room.
    frees_at: datetime | None = None


def with_route(queryset):
    """ReminderSettings rows with `route`, the tenant's chosen server, read in the same
    query (the claim's locking read) instead of one more round trip."""
    route = OutgoingEmailSettings.objects.filter(tenant_id=OuterRef("tenant_id")).values(
        "use_server"
    )[:1]
    return queryset.annotate(route=Subquery(route))


def apply_route_caps(limits: ReminderSettings, *, route: str | None) -> None:
    """Lower the tenant's limits, in memory only, to its route's own (Microsoft 365: 30 a
    minute and 10,000 a day; Google: 2,000 a day). The saved limits stay as typed."""
    per_minute, per_day = ROUTE_CAPS.get(route, (None, None))
    if per_minute is not None:
        limits.per_minute_limit = min(limits.per_minute_limit, per_minute)
    if per_day is not None:
        limits.per_day_limit = min(limits.per_day_limit, per_day)


def check_allowance(*, tenant_id: int, limits: ReminderSettings, now: datetime) -> Allowance:
    """Messages the tenant may still send: tries in the last minute and since the local
    midnight count, and so do messages other workers are sending right now."""
    in_flight = OutboundEmail.objects.filter(tenant_id=tenant_id, status=Status.SENDING).count()
    tries = DeliveryAttempt.objects.filter(tenant_id=tenant_id)
    minute_tries = tries.filter(at__gt=now - WINDOW)
    last_minute = minute_tries.count()
    today = tries.filter(at__gte=local_day_start(now, limits.time_zone)).count()
    per_minute = limits.per_minute_limit - last_minute - in_flight
    per_day = limits.per_day_limit - today - in_flight
    remaining = min(per_minute, per_day)
    if remaining > 0:
        return Allowance(remaining)

    # Messages in flight become tries (or go back to the queue) within a lease.
    soon = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    frees = []
    if per_day <= 0:
        frees.append(
            next_local_midnight(now, limits.time_zone) if today >= limits.per_day_limit else soon
        )
    if per_minute <= 0:
        oldest = minute_tries.order_by("at").values_list("at", flat=True).first()
        if last_minute >= limits.per_minute_limit and oldest is not None:
            frees.append(oldest + WINDOW)
        else:
            frees.append(soon)
    return Allowance(remaining, max(frees))


def sending_allowance(*, tenant_id: int, limits: ReminderSettings, now: datetime) -> int:
    return check_allowance(tenant_id=tenant_id, limits=limits, now=now).remaining
