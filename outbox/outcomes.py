"""The failure policy and the records of each message's outcome.

Every write here is guarded by the lease owner and status `sending`, so a worker
that lost its lease (the reaper took the batch back) can never overwrite what
another worker recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone

from outbox.models import DeliveryAttempt, OutboundEmail, Outcome, Status
from routes.failures import SendFailure

logger = logging.getLogger("outbox.delivery")

# Minutes to wait after the 1st, 2nd, ... failed try; a message gets 6 tries in all.
BACKOFF_MINUTES = (1, 5, 15, 60, 240)
MAX_TRIES = len(BACKOFF_MINUTES) + 1
# How soon mail held for the operator (unreadable credentials) is looked at again.
HOLD_MINUTES = 1


@dataclass(frozen=True)
class SentAs:
    """What a try went out as (its route and the From and Reply-To headers it carried),
    kept on its attempt: a later change of the settings does not rewrite history."""

    route: str = ""
    from_header: str = ""
    reply_to: str = ""


NOT_SENT = SentAs()


def recipient_count(email: OutboundEmail) -> int:
    return len(email.to_addresses or ()) + len(email.cc_addresses or ())


def _attempt(
    email: OutboundEmail,
    *,
    owner: str,
    outcome: str,
    failure: SendFailure | None = None,
    sent_as: SentAs = NOT_SENT,
):
    return DeliveryAttempt(
        tenant_id=email.tenant_id,
        email_id=email.pk,
        at=timezone.now(),
        outcome=outcome,
        stage=failure.stage if failure else "",
        smtp_code=failure.smtp_code if failure else None,
        reply=failure.smtp_reply if failure else "",
        worker=owner,
        route=sent_as.route,
        from_header=sent_as.from_header,
        reply_to=sent_as.reply_to,
        recipients=recipient_count(email),
    )


# One round trip on PostgreSQL: the guarded UPDATE and its attempt row together. This
# runs once per message, so it is the outbox's main cost over a bare SMTP loop.
_RECORD_SENT_SQL = """
WITH sent AS (
    UPDATE communications_outboundemail
    SET status = 'sent', sent_at = %(now)s, tries = tries + 1, lease_owner = '',
        lease_expires_at = NULL, error_code = '', error_message = '', smtp_code = NULL,
        smtp_reply = '', claims = 0, updated_at = %(now)s, route = %(route)s,
        provider_message_id = %(provider_id)s
    WHERE id = %(id)s AND lease_owner = %(owner)s AND status = 'sending'
    RETURNING id, tenant_id
)
INSERT INTO communications_deliveryattempt
    (tenant_id, email_id, at, outcome, stage, smtp_code, reply, worker, route, from_header,
     reply_to, recipients)
SELECT tenant_id, id, %(now)s, 'sent', '', NULL, '', %(owner)s, %(route)s, %(from_header)s,
    %(reply_to)s, %(recipients)s
FROM sent
"""


def record_sent(
    email: OutboundEmail, *, owner: str, sent_as: SentAs = NOT_SENT, provider_id: str = ""
) -> int:
    """`sent_as`: the route that accepted it (settings_app.models.UseServer) and the
    headers it went with; `provider_id`: the id its API gave the message (Gmail), if any."""
    now = timezone.now()
    route = sent_as.route
    if db_connection.vendor == "postgresql":
        # A server-side prepared statement: parsed and planned once per connection.
        db_connection.ensure_connection()
        with psycopg.Cursor(db_connection.connection) as cursor:
            cursor.execute(
                _RECORD_SENT_SQL,
                {
                    "now": now,
                    "id": email.pk,
                    "owner": owner,
                    "route": route,
                    "provider_id": provider_id or "",
                    "from_header": sent_as.from_header,
                    "reply_to": sent_as.reply_to,
                    "recipients": recipient_count(email),
                },
                prepare=True,
            )
            recorded = cursor.rowcount
    else:
        recorded = OutboundEmail.objects.filter(
            pk=email.pk, lease_owner=owner, status=Status.SENDING
        ).update(
            status=Status.SENT,
            sent_at=now,
            tries=F("tries") + 1,
            lease_owner="",
            lease_expires_at=None,
            error_code="",
            error_message="",
            smtp_code=None,
            smtp_reply="",
            claims=0,
            updated_at=now,
            route=route,
            provider_message_id=provider_id or "",
        )
        if recorded:
            DeliveryAttempt.objects.bulk_create(
                [_attempt(email, owner=owner, outcome=Outcome.SENT, sent_as=sent_as)]
            )
    if recorded:
        logger.info(
            "Email sent",
            extra={"tenant_id": email.tenant_id, "email_id": email.pk, "outcome": "sent"},
        )
    else:
        logger.error(
            "Email sent after its lease was lost",
            extra={"tenant_id": email.tenant_id, "email_id": email.pk, "outcome": "lease_lost"},
        )
    return recorded


def _failure_fields(
    email: OutboundEmail, failure: SendFailure, *, tried: bool, now
) -> tuple[dict, str]:
    tries = email.tries + (1 if tried else 0)
    fields = {
        "tries": tries,
        "claims": 0,
        "lease_owner": "",
        "lease_expires_at": None,
        "updated_at": now,
        "error_code": failure.code,
        "error_message": failure.full_text(),
        "smtp_code": failure.smtp_code,
        "smtp_reply": failure.smtp_reply,
    }
    if failure.maybe_delivered:
        fields["status"] = Status.ERROR
        return fields, Outcome.INTERRUPTED
    if failure.temporary and tried and tries < MAX_TRIES:
        fields.update(
            status=Status.QUEUED,
            send_started=False,
            next_attempt_at=now
            + max(
                timedelta(minutes=BACKOFF_MINUTES[tries - 1]),
                timedelta(seconds=failure.retry_after or 0),  # when the server said
            ),
        )
        return fields, Outcome.RETRY
    fields["status"] = Status.ERROR
    return fields, Outcome.ERROR


def record_failure(
    email: OutboundEmail,
    *,
    owner: str,
    failure: SendFailure,
    tried: bool = True,
    sent_as: SentAs = NOT_SENT,
) -> None:
    fields, outcome = _failure_fields(email, failure, tried=tried, now=timezone.now())
    if sent_as.route and tried:
        fields["route"] = sent_as.route
    recorded = OutboundEmail.objects.filter(
        pk=email.pk, lease_owner=owner, status=Status.SENDING
    ).update(**fields)
    if recorded and tried:
        DeliveryAttempt.objects.bulk_create(
            [_attempt(email, owner=owner, outcome=outcome, failure=failure, sent_as=sent_as)]
        )
    if recorded:
        logger.warning(
            "Email failed: %s",
            failure.code,
            extra={
                "tenant_id": email.tenant_id,
                "email_id": email.pk,
                "outcome": outcome,
                "error_code": failure.code,
            },
        )


def fail_all(
    emails: list[OutboundEmail],
    *,
    owner: str,
    failure: SendFailure,
    tried: bool,
    sent_as: SentAs = NOT_SENT,
) -> None:
    for email in emails:
        record_failure(email, owner=owner, failure=failure, tried=tried, sent_as=sent_as)


def _requeue_untried(
    emails: list[OutboundEmail], *, owner: str, until, code: str, reason: str, now
) -> int:
    """Back to Queued until `until`, with no try used and the reason shown; guarded by
    the lease owner like every outcome. Returns how many were put back."""
    return OutboundEmail.objects.filter(
        pk__in=[email.pk for email in emails], lease_owner=owner, status=Status.SENDING
    ).update(
        status=Status.QUEUED,
        claims=0,
        lease_owner="",
        lease_expires_at=None,
        send_started=False,
        next_attempt_at=until,
        error_code=code,
        error_message=reason,
        updated_at=now,
    )


def hold_for_operator(emails: list[OutboundEmail], *, owner: str, failure: SendFailure) -> None:
    """An operator fault (credentials the keys cannot open): the mail stays Queued, not
    tried, with the reason shown, and is looked at again every few minutes, so it goes
    out by itself once the operator puts the key back."""
    now = timezone.now()
    held = _requeue_untried(
        emails,
        owner=owner,
        until=now + timedelta(minutes=HOLD_MINUTES),
        code=failure.code,
        reason=failure.message,
        now=now,
    )
    if held:
        logger.error(
            "Holding %s emails: %s",
            held,
            failure.message,
            extra={"tenant_id": emails[0].tenant_id, "outcome": "held", "error_code": failure.code},
        )


def pause_route(emails: list[OutboundEmail], *, owner: str, failure: SendFailure) -> None:
    """The provider asked us to slow down (429, Retry-After): these emails and the
    tenant's other queued mail wait at least that long, and no tries are used."""
    now = timezone.now()
    until = now + timedelta(seconds=max(failure.retry_after or 0, 1))
    paused = _requeue_untried(
        emails, owner=owner, until=until, code=failure.code, reason=failure.full_text(), now=now
    )
    if emails:
        OutboundEmail.objects.filter(
            tenant_id=emails[0].tenant_id, status=Status.QUEUED, next_attempt_at__lt=until
        ).update(next_attempt_at=until)
        logger.warning(
            "Route paused until %s: %s emails back to the queue",
            until.isoformat(),
            paused,
            extra={
                "tenant_id": emails[0].tenant_id,
                "outcome": "paused",
                "error_code": failure.code,
            },
        )


def fail_due_mail_of_tenant(*, tenant_id: int, failure: SendFailure) -> None:
    """After an authentication refusal, the tenant's due mail ends as Error at once."""
    now = timezone.now()
    OutboundEmail.objects.filter(
        tenant_id=tenant_id, status=Status.QUEUED, next_attempt_at__lte=now
    ).update(
        status=Status.ERROR,
        error_code=failure.code,
        error_message=failure.full_text(),
        smtp_code=failure.smtp_code,
        smtp_reply=failure.smtp_reply,
        claims=0,
        updated_at=now,
    )
