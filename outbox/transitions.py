"""Every change of an outbound email's status, and nothing else: one guarded UPDATE per
transition, written once. The guard (the status it leaves, and for a message being sent
the lease owner) means a worker that lost its lease, a second click or a late task can
never overwrite what another recorded; each function returns how many rows moved.

The failure policy (retry or error, backoff, pauses) is outbox.outcomes'; the claim's
allowance is outbox.leases'. docs/outbox.md draws these transitions.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import NamedTuple

import psycopg
from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone

from outbox.models import DeliveryAttempt, OutboundEmail, Status

QUEUED, SENDING, SENT, ERROR, CANCELLED = (
    Status.QUEUED,
    Status.SENDING,
    Status.SENT,
    Status.ERROR,
    Status.CANCELLED,
)


class Transition(NamedTuple):
    source: str | None  # None: the row is created
    target: str


# The whole state machine; tests/outbox/test_transitions.py holds the code to it.
TRANSITIONS = {
    "create": Transition(None, QUEUED),
    "claim": Transition(QUEUED, SENDING),
    "release": Transition(SENDING, QUEUED),  # warm shutdown: not a try
    "reap": Transition(SENDING, QUEUED),  # lease expired, not yet tried
    "sent": Transition(SENDING, SENT),
    "retry": Transition(SENDING, QUEUED),  # temporary failure, tries left
    "error": Transition(SENDING, ERROR),  # permanent, tries used, or interrupted
    "requeue": Transition(SENDING, QUEUED),  # held for the operator, or a paused route
    "error_due": Transition(QUEUED, ERROR),  # the tenant's login was refused
    "cancel": Transition(SENDING, CANCELLED),  # nothing left to ask, just before sending
    "resend": Transition(ERROR, QUEUED),
}

# Fields a message's lease leaves behind whenever it stops being `sending`.
_LEASE_ENDS = {"lease_owner": "", "lease_expires_at": None, "claims": 0}


def _held(owner: str, ids: Iterable[int]) -> QuerySet[OutboundEmail]:
    return OutboundEmail.objects.filter(pk__in=list(ids), lease_owner=owner, status=SENDING)


def create(rows: list[OutboundEmail]) -> list[OutboundEmail]:
    """New emails, Queued and counted as such from their first write."""
    for row in rows:
        row.status = QUEUED
        row.counted_status = QUEUED
    return OutboundEmail.objects.bulk_create(rows)


def claim(ids: list[int], *, owner: str, lease_end, now: datetime.datetime) -> int:
    """Queued -> Sending under `owner`'s lease; counted as Sent from here on (see
    outbox.counts.count_claimed_as_sent)."""
    return OutboundEmail.objects.filter(id__in=ids, status=QUEUED).update(
        status=SENDING,
        lease_owner=owner,
        lease_expires_at=lease_end,
        send_started=False,
        claims=F("claims") + 1,
        counted_status=SENT,
        updated_at=now,
    )


def release(*, owner: str) -> int:
    """The unsent rest of a batch back to Queued at once: not a try, nor a claim."""
    return OutboundEmail.objects.filter(lease_owner=owner, status=SENDING).update(
        status=QUEUED,
        lease_owner="",
        lease_expires_at=None,
        send_started=False,
        claims=F("claims") - 1,
        updated_at=timezone.now(),
    )


def reap(ids: list[int], *, owner: str) -> int:
    """Untried messages under an expired lease back to Queued (the claim still counts)."""
    return _held(owner, ids).update(
        status=QUEUED,
        lease_owner="",
        lease_expires_at=None,
        send_started=False,
        updated_at=timezone.now(),
    )


_SENT_SET = """
    UPDATE communications_outboundemail
    SET status = 'sent', sent_at = %(now)s, tries = tries + 1, lease_owner = '',
        lease_expires_at = NULL, error_code = '', error_message = '', smtp_code = NULL,
        smtp_reply = '', claims = 0, updated_at = %(now)s, route = %(route)s,
        provider_message_id = %(provider_id)s
    WHERE id = %(id)s AND lease_owner = %(owner)s AND status = 'sending'
"""
_SENT_ATTEMPT = """
    INSERT INTO communications_deliveryattempt
        (tenant_id, email_id, at, outcome, stage, smtp_code, reply, worker, route,
         from_header, reply_to, recipients)
    SELECT tenant_id, id, %(now)s, 'sent', '', NULL, '', %(owner)s, %(route)s,
        %(from_header)s, %(reply_to)s, %(recipients)s
"""
# PostgreSQL: one round trip, the UPDATE and its attempt row together. This runs once per
# message, so it is the outbox's main cost over a bare SMTP loop.
_SENT_IN_ONE = f"WITH sent AS ({_SENT_SET} RETURNING id, tenant_id) {_SENT_ATTEMPT} FROM sent"
# Elsewhere (SQLite, no data-modifying WITH): the same two statements one after the other.
_SENT_ATTEMPT_AFTER = f"{_SENT_ATTEMPT} FROM communications_outboundemail WHERE id = %(id)s"


def sent(email_id: int, *, owner: str, attempt: dict) -> int:
    """Sending -> Sent, with its attempt row. `attempt`: route, provider_id,
    from_header, reply_to, recipients."""
    params = {"now": timezone.now(), "id": email_id, "owner": owner, **attempt}
    if connection.vendor == "postgresql":
        # A server-side prepared statement: parsed and planned once per connection.
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(_SENT_IN_ONE, params, prepare=True)
            return cursor.rowcount
    # Written as the ORM writes datetimes here (SQLite: naive UTC text), so that they
    # compare and sort with the rest.
    params["now"] = connection.ops.adapt_datetimefield_value(params["now"])
    with connection.cursor() as cursor:
        cursor.execute(_SENT_SET, params)
        moved = cursor.rowcount
        if moved:
            cursor.execute(_SENT_ATTEMPT_AFTER, params)
        return moved


def retry(email_id: int, *, owner: str, fields: dict, attempt: DeliveryAttempt | None) -> int:
    """Sending -> Queued after a temporary failure, due again at `next_attempt_at`."""
    return _failed(email_id, QUEUED, owner=owner, fields=fields, attempt=attempt)


def error(email_id: int, *, owner: str, fields: dict, attempt: DeliveryAttempt | None) -> int:
    """Sending -> Error: permanent, tries used, or interrupted (it may have been sent)."""
    return _failed(email_id, ERROR, owner=owner, fields=fields, attempt=attempt)


def _failed(email_id, target, *, owner, fields, attempt) -> int:
    # With the try's attempt row when it was a try (None: it was never tried).
    moved = _held(owner, [email_id]).update(status=target, **_LEASE_ENDS, **fields)
    if moved and attempt is not None:
        DeliveryAttempt.objects.bulk_create([attempt])
    return moved


def requeue(ids: list[int], *, owner: str, until: datetime.datetime, code: str, reason: str) -> int:
    """Back to Queued until `until`, no try used, with the reason shown."""
    return _held(owner, ids).update(
        status=QUEUED,
        **_LEASE_ENDS,
        send_started=False,
        next_attempt_at=until,
        error_code=code,
        error_message=reason,
        updated_at=timezone.now(),
    )


def error_due(*, tenant_id: int, fields: dict) -> int:
    """The tenant's due Queued mail -> Error at once (its server refused our login)."""
    now = timezone.now()
    return OutboundEmail.objects.filter(
        tenant_id=tenant_id, status=QUEUED, next_attempt_at__lte=now
    ).update(status=ERROR, claims=0, updated_at=now, **fields)


def cancel(email_id: int, *, owner: str, reason: str) -> int:
    """Sending -> Cancelled: just before the send, nothing in it is left to ask."""
    return _held(owner, [email_id]).update(
        status=CANCELLED, **_LEASE_ENDS, error_message=reason, updated_at=timezone.now()
    )


def resend(email_id: int) -> int:
    """Error -> Queued with fresh tries, due now, the same Message-ID."""
    now = timezone.now()
    return OutboundEmail.objects.filter(pk=email_id, status=ERROR).update(
        status=QUEUED,
        tries=0,
        next_attempt_at=now,
        **_LEASE_ENDS,
        send_started=False,
        error_code="",
        error_message="",
        smtp_code=None,
        smtp_reply="",
        updated_at=now,
    )
