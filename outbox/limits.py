"""Per-tenant sending limits: how many more messages may go out right now, and, when
none may, until when the tenant is held."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from outbox.models import (
    DeliveryAttempt,
    OutboundEmail,
    SendingLimits,
    Status,
    count_recipients,
)
from routes.models import OutgoingEmailSettings, UseServer
from routes.oauth_providers import ROUTE_CAPS
from yaypay_mail.models import Tenant

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
    """Room left right now: `messages` under the per-minute limit, `recipients` (To + Cc)
    under the per-day limits."""

    messages: int
    recipients: int
    # When there is no room: the earliest time there may be again (beat's drain skips
    # the tenant until then). None while there is room.
    frees_at: datetime | None = None
    # The daily limit that binds: the tenant's ("daily_limit") or, on the gateway, its
    # share of the gateway ("gateway_daily_limit"), and that limit's size.
    day_code: str = "daily_limit"
    day_limit: int = 0
    # True when a daily limit is what stops it: the waiting mail then says so.
    day_used_up: bool = False

    @property
    def remaining(self) -> int:
        return min(self.messages, self.recipients)


def sending_limits_for(tenant: Tenant) -> SendingLimits:
    # Every tenant has its row from its creation on (outbox.apps); this is the fallback.
    limits, _ = SendingLimits.objects.get_or_create(tenant=tenant)
    return limits


def with_route(queryset):
    """SendingLimits rows with `route`, the tenant's chosen server, and `time_zone`, the
    tenant's, read in the same query (the claim's locking read) instead of more round
    trips."""
    route = OutgoingEmailSettings.objects.filter(tenant_id=OuterRef("tenant_id")).values(
        "use_server"
    )[:1]
    zone = Tenant.objects.filter(pk=OuterRef("tenant_id")).values("time_zone")[:1]
    return queryset.annotate(route=Subquery(route), time_zone=Subquery(zone))


def apply_route_caps(limits: SendingLimits, *, route: str | None) -> None:
    """Lower the tenant's limits, in memory only, to its route's own (Microsoft 365: 30 a
    minute and 10,000 a day; Google: 2,000 a day). The saved limits stay as typed."""
    per_minute, per_day = ROUTE_CAPS.get(route, (None, None))
    if per_minute is not None:
        limits.per_minute_limit = min(limits.per_minute_limit, per_minute)
    if per_day is not None:
        limits.per_day_limit = min(limits.per_day_limit, per_day)


def is_gateway(route: str | None) -> bool:
    # No settings row yet means the default: the gateway.
    return route in (None, "", UseServer.GATEWAY)


def check_allowance(
    *, tenant_id: int, limits: SendingLimits, now: datetime, route: str | None = None
) -> Allowance:
    """Room the tenant has: tries in the last minute count against the per-minute limit,
    recipients of tries since the local midnight against the per-day limit (and, on the
    gateway, against GATEWAY_DAILY_RECIPIENTS), and so do messages other workers are
    sending right now."""
    in_flight = list(
        OutboundEmail.objects.filter(tenant_id=tenant_id, status=Status.SENDING).values_list(
            "to_addresses", "cc_addresses"
        )
    )
    in_flight_recipients = sum(count_recipients(to, cc) for to, cc in in_flight)
    day_start = local_day_start(now, limits.time_zone)
    minute_start = now - WINDOW
    today = Q(at__gte=day_start)
    counted = DeliveryAttempt.objects.filter(
        tenant_id=tenant_id, at__gte=min(day_start, minute_start)
    ).aggregate(
        last_minute=Count("id", filter=Q(at__gt=minute_start)),
        day=Coalesce(Sum("recipients", filter=today), 0),
        gateway_day=Coalesce(Sum("recipients", filter=today & Q(route=UseServer.GATEWAY)), 0),
    )
    last_minute = counted["last_minute"]
    per_minute = limits.per_minute_limit - last_minute - len(in_flight)
    day_limit, day_used, code = limits.per_day_limit, counted["day"], "daily_limit"
    if is_gateway(route):
        gateway_room = settings.GATEWAY_DAILY_RECIPIENTS - counted["gateway_day"]
        if gateway_room < day_limit - day_used:
            day_limit, day_used = settings.GATEWAY_DAILY_RECIPIENTS, counted["gateway_day"]
            code = "gateway_daily_limit"
    per_day = day_limit - day_used - in_flight_recipients
    if per_minute > 0 and per_day > 0:
        return Allowance(per_minute, per_day, day_code=code, day_limit=day_limit)

    # Messages in flight become tries (or go back to the queue) within a lease.
    soon = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    frees = []
    day_used_up = per_day <= 0 and day_used >= day_limit
    if per_day <= 0:
        frees.append(next_local_midnight(now, limits.time_zone) if day_used_up else soon)
    if per_minute <= 0:
        oldest = (
            DeliveryAttempt.objects.filter(tenant_id=tenant_id, at__gt=minute_start)
            .order_by("at")
            .values_list("at", flat=True)
            .first()
        )
        if last_minute >= limits.per_minute_limit and oldest is not None:
            frees.append(oldest + WINDOW)
        else:
            frees.append(soon)
    return Allowance(per_minute, per_day, max(frees), code, day_limit, day_used_up)


def daily_limit_reason(code: str, *, limit: int, until: datetime, time_zone: str) -> str:
    local = until.astimezone(ZoneInfo(time_zone))
    when = f"{local:%Y-%m-%d %H:%M} ({time_zone})"
    if code == "gateway_daily_limit":
        return (
            f"Waiting for tomorrow: YayPay's shared gateway takes at most {limit:,} recipients "
            f"a day from each company, and today's are used. It goes out after {when}. "
            "To send more, set up your own mailbox in Settings | Email | Outgoing emails."
        )
    return (
        f"Waiting for tomorrow: today's limit of {limit:,} recipients (To + Cc) is reached. "
        f"It goes out after {when}. The limit is in Settings | Reminders."
    )


def recipients_of(to: list | None, cc: list | None, *, day_limit: int) -> int:
    """What one message costs against the day: a message bigger than the whole day's
    limit costs the whole day, so that it still goes out, alone, on a fresh day."""
    return min(count_recipients(to, cc), max(day_limit, 1))
