"""The failure policy and the records of each message's outcome: which transition a
send's result makes (outbox.transitions writes it, guarded by the lease owner), the
backoff, pauses and holds, the attempt rows and the log lines."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from outbox import transitions
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
        recipients=email.recipient_count,
    )


def record_sent(
    email: OutboundEmail, *, owner: str, sent_as: SentAs = NOT_SENT, provider_id: str = ""
) -> int:
    """`sent_as`: the route that accepted it (routes.models.UseServer) and the headers it
    went with; `provider_id`: the id its API gave the message (Gmail), if any."""
    recorded = transitions.sent(
        email.pk,
        owner=owner,
        attempt={
            "route": sent_as.route,
            "provider_id": provider_id or "",
            "from_header": sent_as.from_header,
            "reply_to": sent_as.reply_to,
            "recipients": email.recipient_count,
        },
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
    """The fields the failure leaves, and its outcome: RETRY goes back to Queued, every
    other outcome ends as Error."""
    tries = email.tries + (1 if tried else 0)
    fields = {
        "tries": tries,
        "updated_at": now,
        "error_code": failure.code,
        "error_message": failure.full_text(),
        "smtp_code": failure.smtp_code,
        "smtp_reply": failure.smtp_reply,
    }
    if failure.maybe_delivered:
        return fields, Outcome.INTERRUPTED
    if failure.temporary and tried and tries < MAX_TRIES:
        fields.update(
            send_started=False,
            next_attempt_at=now
            + max(
                timedelta(minutes=BACKOFF_MINUTES[tries - 1]),
                timedelta(seconds=failure.retry_after or 0),  # when the server said
            ),
        )
        return fields, Outcome.RETRY
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
    attempt = (
        _attempt(email, owner=owner, outcome=outcome, failure=failure, sent_as=sent_as)
        if tried
        else None
    )
    if outcome == Outcome.RETRY:
        recorded = transitions.retry(email.pk, owner=owner, fields=fields, attempt=attempt)
    else:
        recorded = transitions.error(email.pk, owner=owner, fields=fields, attempt=attempt)
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


def hold_for_operator(emails: list[OutboundEmail], *, owner: str, failure: SendFailure) -> None:
    """An operator fault (credentials the keys cannot open): the mail stays Queued, not
    tried, with the reason shown, and is looked at again every few minutes, so it goes
    out by itself once the operator puts the key back."""
    now = timezone.now()
    held = transitions.requeue(
        [email.pk for email in emails],
        owner=owner,
        until=now + timedelta(minutes=HOLD_MINUTES),
        code=failure.code,
        reason=failure.message,
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
    paused = transitions.requeue(
        [email.pk for email in emails],
        owner=owner,
        until=until,
        code=failure.code,
        reason=failure.full_text(),
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
    transitions.error_due(
        tenant_id=tenant_id,
        fields={
            "error_code": failure.code,
            "error_message": failure.full_text(),
            "smtp_code": failure.smtp_code,
            "smtp_reply": failure.smtp_reply,
        },
    )
