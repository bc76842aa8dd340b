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
    per tenant with due mail, except tenants held back by their sending limits."""
    from .leases import tenants_to_drain
    from .services import kick_delivery

    tenant_ids = tenants_to_drain(now=timezone.now())
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
    _count_reaped(tenant_ids)
    return len(tenant_ids)


def _count_reaped(tenant_ids) -> None:
    """The reaped mail's new statuses on the Dashboard now; other tenants' (a message
    only errored, none re-queued) within 15 s by the sweep."""
    from django.db import DatabaseError

    from .counts import count_changes

    for tenant_id in tenant_ids:
        try:
            count_changes(tenant_id=tenant_id)
        except DatabaseError:
            logger.exception("Status counts of tenant %s: not counted; the sweep will", tenant_id)


@shared_task(acks_late=True)
def prune_outbox(older_than_days: int) -> int:
    """Retention, for operators who schedule it with beat rather than cron (README)."""
    from .retention import prune_outbox as prune

    return prune(older_than_days=older_than_days)


@shared_task(acks_late=True)
def sweep_status_counts() -> int:
    """Count the rows whose status changed without a flush (admin actions, a worker
    killed before its batch's flush, plain SQL): beat, every 15 s."""
    from .counts import sweep_uncounted

    return sweep_uncounted()


@shared_task(acks_late=True)
def schedule_daily_reminders() -> int:
    """Beat, every minute: hand each tenant whose local sending hour has come to its own
    schedule_tenant_reminders task (reminders.run_reminder_tick); tenants not due cost
    nothing. A second run the same day queues nothing (reminders.schedule_reminders)."""
    from .reminders import run_reminder_tick

    def dispatch(tenant_id: int, claim) -> None:
        schedule_tenant_reminders.delay(tenant_id, claim.isoformat())

    return run_reminder_tick(dispatch=dispatch)


@shared_task(acks_late=True)
def schedule_tenant_reminders(tenant_id: int, claim: str) -> int:
    """One tenant's reminders for today, under the claim the minute's tick took."""
    import datetime

    from .reminders import run_claimed_tenant

    return run_claimed_tenant(tenant_id, claim=datetime.datetime.fromisoformat(claim))
