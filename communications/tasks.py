"""Celery entry points: thin, taking ids and calling services."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def deliver_tenant_mail(tenant_id: int) -> int:
    from .delivery import deliver_due

    return deliver_due(tenant_id=tenant_id)
