"""Retention: delete old Sent and Cancelled emails, keeping the Dashboard's totals.

Never Queued, Sending or Error (still to be sent, or waiting for a user's Resend), and
only rows the rollup already counts in their status (counted_status = status), so that
their counts can move from `count` to `pruned` in the same transaction as the delete:
the Dashboard shows count + pruned, the same numbers before and after a prune.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter

from django.db import connection, transaction
from django.utils import timezone

from outbox.counts import apply_deltas, hour_of, lock_tenant_counts
from outbox.models import DeliveryAttempt, OutboundEmail, Status
from yaypay_mail.models import Tenant

logger = logging.getLogger(__name__)

PRUNABLE = (Status.SENT, Status.CANCELLED)
BATCH_SIZE = 1000


def prune_outbox(*, older_than_days: int, batch_size: int = BATCH_SIZE) -> int:
    """Delete the Sent and Cancelled emails created more than `older_than_days` days ago,
    with their delivery attempts and invoice links, `batch_size` at a time, each batch one
    transaction. Returns how many emails were deleted."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    deleted = 0
    # Tenant by tenant and status by status, each read oldest first on
    # outbox_tenant_status_created (tenant, status, created_at, id).
    for tenant_id in Tenant.objects.order_by("pk").values_list("pk", flat=True):
        for status in PRUNABLE:
            while True:
                done, more = _prune_batch(tenant_id, status, cutoff, batch_size)
                deleted += done
                if not more:
                    break
    return deleted


def _prune_batch(
    tenant_id: int, status: str, cutoff: datetime.datetime, batch_size: int
) -> tuple[int, bool]:
    with transaction.atomic():
        # Shared with count_changes; a rebuild (exclusive) cannot recompute meanwhile.
        lock_tenant_counts(tenant_id)
        old = OutboundEmail.objects.filter(
            tenant_id=tenant_id, status=status, counted_status=status, created_at__lt=cutoff
        ).order_by("created_at", "id")
        if connection.features.has_select_for_update:
            # Rows someone else holds (an admin's change) wait for the next prune.
            old = old.select_for_update(
                skip_locked=connection.features.has_select_for_update_skip_locked
            )
        rows = list(old.values_list("id", "created_at")[:batch_size])
        if not rows:
            return 0, False
        ids = [pk for pk, _ in rows]
        DeliveryAttempt.objects.filter(email_id__in=ids).delete()
        OutboundEmail.invoices.through.objects.filter(outboundemail_id__in=ids).delete()
        table = connection.ops.quote_name(OutboundEmail._meta.db_table)
        marks = ", ".join(["%s"] * len(ids))
        with connection.cursor() as cursor:
            # Plain DELETE: Django's cascade would first load every row, bodies included.
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({marks})", ids)
            if cursor.rowcount != len(ids):
                raise RuntimeError("prune_outbox: rows vanished under their lock")
        per_hour = Counter(hour_of(created_at) for _, created_at in rows)
        apply_deltas(
            tenant_id=tenant_id,
            deltas={(hour, status): (-n, n) for hour, n in per_hour.items()},
        )
    return len(rows), len(rows) == batch_size
