"""Celery entry points of the reminders: beat's tick, and one task per due tenant."""

from __future__ import annotations

import datetime

from celery import shared_task

from dunning.reminders import run_claimed_tenant, run_reminder_tick


@shared_task(acks_late=True)
def schedule_daily_reminders() -> int:
    """Beat, every minute: hand each tenant whose local sending hour has come to its own
    schedule_tenant_reminders task (reminders.run_reminder_tick); tenants not due cost
    nothing. A second run the same day queues nothing (reminders.schedule_reminders)."""

    def dispatch(tenant_id: int, claim) -> None:
        schedule_tenant_reminders.delay(tenant_id, claim.isoformat())

    return run_reminder_tick(dispatch=dispatch)


@shared_task(acks_late=True)
def schedule_tenant_reminders(tenant_id: int, claim: str) -> int:
    """One tenant's reminders for today, under the claim the minute's tick took."""
    return run_claimed_tenant(tenant_id, claim=datetime.datetime.fromisoformat(claim))
