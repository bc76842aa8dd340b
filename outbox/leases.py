"""Leases on claimed mail: the claim, the heartbeat that renews it, the release on a
warm shutdown, and the reaper that takes mail back from workers that died.

Lease times come from the database's clock (Now()), never a worker's, so clock
skew between machines can neither steal a live lease nor keep a dead one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper
from django.db.models.functions import Now
from django.utils import timezone

from outbox import transitions
from outbox.counts import count_claimed_as_sent, lock_tenant_counts
from outbox.limits import (
    Allowance,
    apply_route_caps,
    check_allowance,
    daily_limit_reason,
    next_local_midnight,
    recipients_of,
    with_route,
)
from outbox.models import OutboundEmail, SendingLimits, Status
from outbox.outcomes import record_failure
from routes.failures import INTERRUPTED, SendFailure, Stage

logger = logging.getLogger("outbox.delivery")

# Claims without an outcome after which a message ends as Error (its worker keeps dying).
MAX_CLAIMS = 5
WORKER_DIED = "The worker stopped repeatedly while sending this message"


def lease_length() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def _lease_end():
    return ExpressionWrapper(Now() + lease_length(), output_field=DateTimeField())


def new_lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def claim_batch(*, tenant_id: int, owner: str, limit: int) -> list[OutboundEmail]:
    """Mark up to `limit` due messages of the tenant `sending` under `owner`'s lease."""
    now = timezone.now()
    due_now = OutboundEmail.objects.filter(
        tenant_id=tenant_id, status=Status.QUEUED, next_attempt_at__lte=now
    )
    # Most claims that find nothing (another worker took the batch, a kick for mail
    # already sent) end here: one look at the partial index outbox_due, no lock and no
    # count of the sending limits.
    if not due_now.exists():
        return []
    with transaction.atomic():
        # Locking the tenant's limits row serialises claims of one tenant, so two
        # workers cannot both spend the same sending allowance.
        locked = with_route(SendingLimits.objects.select_for_update()).filter(tenant_id=tenant_id)
        limits = locked.first()
        if limits is None:  # a tenant made without signals (a bulk load): once
            SendingLimits.objects.get_or_create(tenant_id=tenant_id)
            limits = locked.first()
        apply_route_caps(limits, route=limits.route)
        allowance = check_allowance(tenant_id=tenant_id, limits=limits, now=now, route=limits.route)
        if allowance.remaining <= 0:
            _hold(limits, allowance, due_now)
            return []
        # Before any outbox row: the order count_changes and a rebuild take them in.
        lock_tenant_counts(tenant_id)
        due = due_now.order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        candidates = due.values_list(
            "id", "created_at", "counted_status", "to_addresses", "cc_addresses"
        )[: min(limit, allowance.messages)]
        candidates = list(candidates)
        if not candidates:
            return []
        picked = _within_recipients(candidates, allowance)
        if not picked:
            # The next message alone has more recipients than today has left.
            midnight = next_local_midnight(now, limits.time_zone)
            _hold(limits, replace(allowance, frees_at=midnight, day_used_up=True), due_now)
            return []
        if limits.held_until is not None:
            SendingLimits.objects.filter(pk=limits.pk).update(held_until=None)
        ids = [pk for pk, _created_at, _counted in picked]
        # Guarded by status: on databases without SKIP LOCKED the UPDATE itself decides.
        claimed = transitions.claim(ids, owner=owner, lease_end=_lease_end(), now=now)
        if claimed != len(picked):
            # Cannot happen where the rows are locked (SKIP LOCKED, or SQLite's serialised
            # writes); elsewhere, counting rows we did not get would be wrong: try later.
            transaction.set_rollback(True)
            return []
        # Counted as Sent from the claim on, in the claim's own statement and one upsert:
        # a sent message then needs no second write. Whatever ends otherwise (a failure,
        # the reaper, a release) leaves counted_status <> status, which count_changes
        # moves; readers add the rows still `sending` back as Sending.
        count_claimed_as_sent(tenant_id=tenant_id, claimed=picked)
    return list(
        OutboundEmail.objects.filter(id__in=ids, lease_owner=owner, status=Status.SENDING)
        .select_related("tenant", "customer")  # reminders are re-rendered before sending
        .order_by("id")
    )


def _within_recipients(candidates: list[tuple], allowance: Allowance) -> list:
    """The candidates, in order, for as long as their recipients fit today's room."""
    picked, room = [], allowance.recipients
    for pk, created_at, counted, to, cc in candidates:
        room -= recipients_of(to, cc, day_limit=allowance.day_limit)
        if room < 0:
            break
        picked.append((pk, created_at, counted))
    return picked


def _hold(limits: SendingLimits, allowance: Allowance, due_now) -> None:
    """No room: beat's drain leaves the tenant alone until its limits free, instead of
    kicking a worker every minute to find this again. A kick meanwhile (new mail, a
    resend) still gets here and finds nothing, cheaply. When a daily limit holds it,
    the waiting mail says so and waits for the next day."""
    frees_at = allowance.frees_at
    if limits.held_until != frees_at:
        SendingLimits.objects.filter(pk=limits.pk).update(held_until=frees_at)
    if allowance.day_used_up:
        reason = daily_limit_reason(
            allowance.day_code,
            limit=allowance.day_limit,
            until=frees_at,
            time_zone=limits.time_zone,
        )
        due_now.filter(next_attempt_at__lt=frees_at).update(
            next_attempt_at=frees_at,
            error_code=allowance.day_code,
            error_message=reason,
            updated_at=timezone.now(),
        )


def tenants_to_drain(*, now: datetime) -> list[int]:
    """Tenants with due mail, less those held by their sending limits (held_until, set
    by claim_batch). Two queries whatever the number of tenants or the outbox's history:
    the distinct tenants of the partial index outbox_due (only queued mail is in it),
    then those tenants' settings rows."""
    due = list(
        OutboundEmail.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now)
        .order_by()  # no Meta.ordering, which DISTINCT would otherwise take in
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    if not due:
        return []
    held = set(
        SendingLimits.objects.filter(tenant_id__in=due, held_until__gt=now).values_list(
            "tenant_id", flat=True
        )
    )
    return [tenant_id for tenant_id in due if tenant_id not in held]


def mark_sending_started(*, owner: str) -> bool:
    """Just before the batch's first send: from now on, the lowest-id message still held
    may be in flight. One UPDATE for the batch; False if the lease was lost."""
    return (
        OutboundEmail.objects.filter(lease_owner=owner, status=Status.SENDING).update(
            send_started=True
        )
        > 0
    )


def release(*, owner: str) -> int:
    """Give the unsent rest of a batch back to the queue at once (warm shutdown). Not a
    try, and not a claim: a worker that stops cleanly uses up nothing."""
    return transitions.release(owner=owner)


class LeaseHeartbeat:
    """Renews the batch's lease every third of its length from a thread of its own: one
    message's send (a reconnect included) can outlast a lease, so the sending loop alone
    could not keep it.

    The sending loop asks `held()` before every send. It answers False once a renewal
    found no row still held (the reaper took the batch), or when no renewal has
    succeeded for two thirds of a lease (the database is unreachable, or the process
    was paused): the lease may then expire under the batch, and a message sent after
    that could be sent again by the worker the reaper hands it to."""

    def __init__(self, owner: str):
        self.owner = owner
        self.lost = threading.Event()
        self._renewed_at = time.monotonic()  # the claim itself set the lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{owner}", daemon=True)

    def __enter__(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def held(self) -> bool:
        fresh = time.monotonic() - self._renewed_at < settings.OUTBOX_LEASE_SECONDS * 2 / 3
        return fresh and not self.lost.is_set()

    def _run(self) -> None:
        interval = settings.OUTBOX_LEASE_SECONDS / 3
        try:
            while not self._stop.wait(interval):
                try:
                    renewed = OutboundEmail.objects.filter(
                        lease_owner=self.owner, status=Status.SENDING
                    ).update(lease_expires_at=_lease_end())
                except Exception:
                    # Try again at the next beat; held() turns False if this lasts.
                    logger.exception("Lease heartbeat of %s failed", self.owner)
                    connection.close()
                    continue
                if not renewed:
                    self.lost.set()
                    return
                self._renewed_at = time.monotonic()
        finally:
            connection.close()


def reap_expired_leases() -> set[int]:
    """Take back messages whose worker's lease expired: the one that may have been in
    flight ends as Error (interrupted), one claimed MAX_CLAIMS times ends as Error (its
    worker keeps dying), the others go back to the queue untried. Returns the tenants
    whose mail went back to the queue."""
    expired = OutboundEmail.objects.filter(status=Status.SENDING, lease_expires_at__lt=Now())
    owners = set(expired.values_list("lease_owner", flat=True))
    requeued_tenants: set[int] = set()
    for owner in owners:
        with transaction.atomic():
            held = list(
                expired.filter(lease_owner=owner)
                .select_for_update()
                .order_by("id")
                .only("id", "tenant_id", "tries", "claims", "send_started")
            )
            if not held:
                continue
            first = held[0]
            # Outcomes are recorded in id order, so only the first may have been sent.
            if first.send_started:
                held = held[1:]
                record_failure(
                    first,
                    owner=owner,
                    failure=SendFailure(
                        code="interrupted",
                        message=INTERRUPTED,
                        hint="The worker sending it stopped; check the recipient's mailbox before resending.",
                        stage=Stage.AFTER_DATA,
                    ),
                )
                _log_reaped(first, "interrupted")
            for email in held:
                if email.claims >= MAX_CLAIMS:
                    died = SendFailure(
                        code="worker_died",
                        message=WORKER_DIED,
                        hint="Resend it; if it fails the same way, tell YayPay support.",
                    )
                    record_failure(email, owner=owner, failure=died, tried=False)
                    _log_reaped(email, "worker_died")
            back = [email for email in held if email.claims < MAX_CLAIMS]
            if back:
                transitions.reap([email.pk for email in back], owner=owner)
                requeued_tenants.add(back[0].tenant_id)
                for email in back:
                    _log_reaped(email, "requeued")
    return requeued_tenants


def _log_reaped(email: OutboundEmail, outcome: str) -> None:
    logger.warning(
        "Lease expired: %s",
        outcome,
        extra={"tenant_id": email.tenant_id, "email_id": email.pk, "outcome": outcome},
    )
