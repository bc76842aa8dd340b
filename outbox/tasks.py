"""Celery entry points of the engine: thin, taking ids and calling services. Beat runs
the periodic ones (the reaper every 15 s, the others every minute): no task is ever
scheduled with a countdown or ETA, which Redis would re-deliver after its visibility
time-out."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from outbox.counts import count_changes, sweep_uncounted
from outbox.delivery import deliver_due
from outbox.leases import reap_expired_leases as reap
from outbox.leases import tenants_to_drain
from outbox.retention import prune_outbox as prune
from yaypay_mail.models import Tenant
from yaypay_mail.publish import publish_on_commit

logger = logging.getLogger(__name__)

# A drain task per this many queued messages lets several workers share a big enqueue.
MESSAGES_PER_TASK = 200


@shared_task(acks_late=True)
def deliver_tenant_mail(tenant_id: int) -> int:
    if not Tenant.objects.filter(pk=tenant_id).exists():
        return 0  # deleted since the task was queued
    return deliver_due(tenant_id=tenant_id)


@shared_task(acks_late=True)
def drain_due_mail() -> int:
    """The safety net, and how backoff and deferred mail come back: one delivery task
    per tenant with due mail, except tenants held back by their sending limits."""
    tenant_ids = tenants_to_drain(now=timezone.now())
    for tenant_id in tenant_ids:
        kick_delivery(tenant_id=tenant_id)
    return len(tenant_ids)


@shared_task(acks_late=True)
def reap_expired_leases() -> int:
    tenant_ids = reap()
    for tenant_id in tenant_ids:
        kick_delivery(tenant_id=tenant_id)
    _count_reaped(tenant_ids)
    return len(tenant_ids)


def _count_reaped(tenant_ids) -> None:
    """The reaped mail's new statuses on the Dashboard now; other tenants' (a message
    only errored, none re-queued) within 15 s by the sweep."""
    for tenant_id in tenant_ids:
        try:
            count_changes(tenant_id=tenant_id)
        except DatabaseError:
            logger.exception("Status counts of tenant %s: not counted; the sweep will", tenant_id)


@shared_task(acks_late=True)
def prune_outbox(older_than_days: int) -> int:
    """Retention, for operators who schedule it with beat rather than cron (README)."""
    return prune(older_than_days=older_than_days)


@shared_task(acks_late=True)
def sweep_status_counts() -> int:
    """Count the rows whose status changed without a flush (admin actions, a worker
    killed before its batch's flush, plain SQL): beat, every 15 s."""
    return sweep_uncounted()


def kick_delivery(*, tenant_id: int, queued: int = 1) -> None:
    """Ask workers to drain this tenant's due mail once the transaction commits. The mail
    is committed and beat's drain delivers it within a minute anyway, so a broker that
    is down costs only that delay, never the user's request."""
    tasks = max(1, min(4, -(-queued // MESSAGES_PER_TASK)))
    for _ in range(tasks):
        publish_on_commit(deliver_tenant_mail, tenant_id, on_failure=_broker_down_log.report)


class _OncePerMinute:
    """Logs a broker outage once a minute, not once per message."""

    def __init__(self):
        self.last = 0.0
        self.missed = 0

    def report(self, error: Exception) -> None:
        self.missed += 1
        now = time.monotonic()
        if now - self.last >= 60:
            logger.error(
                "Broker unreachable (%s); %s delivery requests left to beat's drain",
                error.__class__.__name__,
                self.missed,
            )
            self.last, self.missed = now, 0


_broker_down_log = _OncePerMinute()
