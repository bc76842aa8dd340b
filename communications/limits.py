"""Per-tenant sending limits: how many more messages may go out right now."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .models import DeliveryAttempt, OutboundEmail, ReminderSettings, Status


def local_day_start(now: datetime, time_zone: str) -> datetime:
    local = now.astimezone(ZoneInfo(time_zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def sending_allowance(*, tenant_id: int, limits: ReminderSettings, now: datetime) -> int:
    """Messages the tenant may still send: tries in the last minute and since the local
    midnight count, and so do messages other workers are sending right now."""
    in_flight = OutboundEmail.objects.filter(tenant_id=tenant_id, status=Status.SENDING).count()
    tries = DeliveryAttempt.objects.filter(tenant_id=tenant_id)
    last_minute = tries.filter(at__gt=now - timedelta(minutes=1)).count()
    today = tries.filter(at__gte=local_day_start(now, limits.time_zone)).count()
    return min(
        limits.per_minute_limit - last_minute - in_flight,
        limits.per_day_limit - today - in_flight,
    )
