"""Celery entry points: thin, taking ids and calling services. Beat runs the periodic
ones (the reaper every 15 s, the others every minute): no task is ever scheduled with
a countdown or ETA, which Redis would re-deliver after its visibility time-out."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def deliver_tenant_mail(tenant_id: int) -> int:
    from yaypay_mail.models import Tenant

    from .delivery import deliver_due

    if not Tenant.objects.filter(pk=tenant_id).exists():
        return 0  # deleted since the task was queued
    return deliver_due(tenant_id=tenant_id)


@shared_task(acks_late=True)
def drain_due_mail() -> int:
    """The safety net, and how backoff and deferred mail come back: one delivery task
    per tenant with due mail."""
    from .models import OutboundEmail, Status

    tenant_ids = set(
        OutboundEmail.objects.filter(
            status=Status.QUEUED, next_attempt_at__lte=timezone.now()
        ).values_list("tenant_id", flat=True)
    )
    from .services import kick_delivery

    for tenant_id in tenant_ids:
        kick_delivery(tenant_id=tenant_id)
    return len(tenant_ids)


@shared_task(acks_late=True)
def reap_expired_leases() -> int:
    from .leases import reap_expired_leases as reap
    from .services import kick_delivery

    tenant_ids = reap()
    for tenant_id in tenant_ids:
        kick_delivery(tenant_id=tenant_id)
    return len(tenant_ids)


@shared_task(acks_late=True)
def schedule_daily_reminders() -> int:
    """Queue reminders for each tenant whose local sending hour has come today. Runs
    often; a second run the same day queues nothing (reminders.schedule_reminders)."""
    from zoneinfo import ZoneInfo

    from yaypay_mail.models import Tenant

    from .reminders import schedule_reminders
    from .services import reminder_settings_for

    now = timezone.now()
    queued = 0
    # Every tenant, not only those whose settings row exists: reminders are on by default.
    for tenant in Tenant.objects.all():
        limits = reminder_settings_for(tenant)
        if (
            limits.enabled
            and now.astimezone(ZoneInfo(limits.time_zone)).hour >= limits.sending_hour
        ):
            count = schedule_reminders(tenant=tenant)
            queued += count
            if count:
                logger.info(
                    "Reminders queued",
                    extra={"tenant_id": tenant.pk, "outcome": "scheduled", "count": count},
                )
    return queued
