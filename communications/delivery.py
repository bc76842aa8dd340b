"""Claim, send and record: how workers deliver a tenant's due mail.

A worker claims a batch of one tenant's due messages in a short transaction,
marking them `sending` under a lease it owns; it sends them, in id order, over
one SMTP connection (outside any transaction), and records each outcome right
after its send with an UPDATE guarded by the lease owner. Because outcomes are
recorded in id order, the lowest-id message still `sending` under an expired
lease is the only one that may have been in flight when its worker died.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import timedelta
from email.errors import HeaderParseError

import psycopg
from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from settings_app.hostguard import FORBIDDEN_SENTENCE, HostRefused
from settings_app.models import OutgoingEmailSettings, UseServer
from settings_app.secrets import SecretUnreadable
from settings_app.services import (
    identity_for,
    mark_failing,
    sending_blocked_reason,
    server_for,
    settings_for,
)
from settings_app.smtp import SMTPConnection, build_message
from settings_app.smtp_errors import INTERRUPTED, SendFailure, Stage

from .limits import sending_allowance
from .models import DeliveryAttempt, OutboundEmail, Outcome, ReminderSettings, Status
from .reminders import refresh_reminders

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BATCH_SIZE = 100
# Minutes to wait after the 1st, 2nd, ... failed try; a message gets 6 tries in all.
BACKOFF_MINUTES = (1, 5, 15, 60, 240)
MAX_TRIES = len(BACKOFF_MINUTES) + 1
# Failures of the connection itself: every message of the batch would meet them.
# Refusals at MAIL that every message would meet alike.
BATCH_WIDE = {"auth_required"}
CONNECTION_STAGES = {
    Stage.CONNECT,
    Stage.TLS,
    Stage.GREETING,
    Stage.EHLO,
    Stage.STARTTLS,
    Stage.AUTH,
}


def new_lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def deliver_due(*, tenant_id: int, batch_size: int = BATCH_SIZE, owner: str | None = None) -> int:
    """Send this tenant's due mail until none is left or a sending limit is reached.
    Returns how many messages were accepted by the server."""
    owner = owner or new_lease_owner()
    sent = 0
    while batch := claim_batch(tenant_id=tenant_id, owner=owner, limit=batch_size):
        sent += send_batch(batch, owner=owner)
    return sent


def claim_batch(*, tenant_id: int, owner: str, limit: int) -> list[OutboundEmail]:
    """Mark up to `limit` due messages of the tenant `sending` under `owner`'s lease."""
    ReminderSettings.objects.get_or_create(tenant_id=tenant_id)
    now = timezone.now()
    with transaction.atomic():
        # Locking the tenant's settings row serialises claims of one tenant, so two
        # workers cannot both spend the same sending allowance.
        limits = ReminderSettings.objects.select_for_update().get(tenant_id=tenant_id)
        allowance = sending_allowance(tenant_id=tenant_id, limits=limits, now=now)
        if allowance <= 0:
            return []
        due = OutboundEmail.objects.filter(
            tenant_id=tenant_id, status=Status.QUEUED, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")
        if db_connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[: min(limit, allowance)])
        if not ids:
            return []
        # Guarded by status: on databases without SKIP LOCKED the UPDATE itself decides.
        OutboundEmail.objects.filter(id__in=ids, status=Status.QUEUED).update(
            status=Status.SENDING,
            lease_owner=owner,
            lease_expires_at=now + LEASE,
            send_started=False,
            batch_first_id=min(ids),
            updated_at=now,
        )
    return list(
        OutboundEmail.objects.filter(id__in=ids, lease_owner=owner, status=Status.SENDING)
        .select_related("tenant", "customer")  # reminders are re-rendered before sending
        .order_by("id")
    )


class Lease:
    """The worker's hold on its batch, renewed before it could expire."""

    def __init__(self, owner: str, batch: list[OutboundEmail]):
        self.owner = owner
        self.expires_at = batch[0].lease_expires_at

    def renew(self, ids: list[int]) -> bool:
        expires_at = timezone.now() + LEASE
        renewed = OutboundEmail.objects.filter(
            id__in=ids, lease_owner=self.owner, status=Status.SENDING
        ).update(lease_expires_at=expires_at)
        self.expires_at = expires_at
        return renewed > 0

    def mark_started(self, email_id: int) -> bool:
        """Before the batch's first connection: from now on its first message may be in
        flight. One row; False if the lease was lost."""
        return (
            OutboundEmail.objects.filter(
                pk=email_id, lease_owner=self.owner, status=Status.SENDING
            ).update(send_started=True)
            > 0
        )

    def keep(self, remaining: list[OutboundEmail]) -> bool:
        """Renew when half the lease is gone; False once the lease is lost."""
        if self.expires_at - timezone.now() > LEASE / 2:
            return True
        return self.renew([email.pk for email in remaining])


def send_batch(batch: list[OutboundEmail], *, owner: str) -> int:
    config = settings_for(batch[0].tenant)
    batch = refresh_reminders(batch, owner=owner)
    if not batch:
        return 0
    own_server = config.use_server == UseServer.SMTP
    blocked = sending_blocked_reason(config)
    if blocked:
        # No login to a server that refused ours until the settings are saved again.
        failure = SendFailure(code="auth_failed", message=blocked, stage=Stage.AUTH)
        _fail_all(batch, owner=owner, failure=failure, tried=False)
        return 0
    try:
        server = server_for(config, timeout=settings.SMTP_TIMEOUT)
    except (HostRefused, SecretUnreadable, SendFailure) as error:
        failure, tried = _route_failure(error)
        _batch_failed(config, batch, owner=owner, failure=failure, tried=tried)
        return 0

    identity = identity_for(config)
    lease = Lease(owner, batch)
    sent = 0
    with _Session(server) as session:
        for index, email in enumerate(batch):
            if not lease.keep(batch[index:]):
                logger.warning("Lease %s lost; leaving the rest of the batch to the reaper", owner)
                break
            if index == 0 and not lease.mark_started(email.pk):
                break
            try:
                message = _message_for(email, identity)
            except (ValueError, IndexError, HeaderParseError) as error:
                invalid = SendFailure(
                    code="invalid_message",
                    message="This email cannot be sent: an address or header in it is not valid.",
                    hint=f"{error}. Correct the customer's email addresses, then resend.",
                )
                _record_failure(email, owner=owner, failure=invalid, tried=False)
                continue
            try:
                session.send(message)
            except SendFailure as failure:
                if failure.stage in CONNECTION_STAGES or failure.code in BATCH_WIDE:
                    # Every remaining message would meet the same failure: record it
                    # for all of them now instead of knocking on the door again.
                    if not own_server:
                        failure = _gateway_trouble(failure)
                    _batch_failed(config, batch[index:], owner=owner, failure=failure, tried=True)
                    break
                _record_failure(email, owner=owner, failure=failure)
            else:
                sent += _record_sent(email, owner=owner)
    return sent


def _route_failure(error: Exception) -> tuple[SendFailure, bool]:
    """The failure (and whether it counts as a try) when no connection could be set up."""
    if isinstance(error, HostRefused):
        if error.unresolved:  # DNS trouble: worth retrying, unlike a refused address
            return SendFailure(
                code="connect_failed",
                message="Mail server connection failed. Couldn't connect to host. Its name did not resolve.",
                hint="It will be tried again; if it keeps failing, check the SMTP Server.",
                temporary=True,
                stage=Stage.CONNECT,
            ), True
        logger.warning("Host guard refused a tenant's server: %s", error.reason)
        return SendFailure(
            code="host_refused",
            message=FORBIDDEN_SENTENCE,
            hint="Fix Settings | Email | Outgoing emails.",
            stage=Stage.CONNECT,
        ), False
    if isinstance(error, SecretUnreadable):
        return SendFailure(code="secret_unreadable", message=str(error), stage=Stage.AUTH), False
    return error, True


def _gateway_trouble(failure: SendFailure) -> SendFailure:
    """The platform gateway's own trouble is the operator's to fix: tenants see a
    neutral, temporary failure, never the gateway's address or login advice."""
    logger.error(
        "Default gateway failed at %s: %s (%s)", failure.stage, failure.code, failure.server_said()
    )
    return SendFailure(
        code="gateway_unavailable",
        message="YayPay's email gateway could not take this email just now.",
        hint="It will be tried again automatically.",
        temporary=True,
        stage=failure.stage,
    )


def _batch_failed(
    config: OutgoingEmailSettings,
    emails: list[OutboundEmail],
    *,
    owner: str,
    failure: SendFailure,
    tried: bool,
) -> None:
    """A failure of the route itself. On the tenant's own server a permanent one is a
    settings problem: it becomes the settings' last result (page and Dashboard), and a
    refused login also ends the tenant's due mail and blocks further logins."""
    if config.use_server == UseServer.SMTP and not failure.temporary:
        mark_failing(config, failure)
        if failure.code == "auth_failed":
            _fail_due_mail_of_tenant(config, failure)
    _fail_all(emails, owner=owner, failure=failure, tried=tried)


class _Session:
    """One connection for the batch; reconnects once when the server has dropped an
    idle connection between messages."""

    def __init__(self, server):
        self.connection = SMTPConnection(server)
        self.used = False

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc_info) -> None:
        self.connection.close()

    def send(self, message) -> None:
        # Each message (and a reconnect for it) gets the whole SMTP_DEADLINE, so one
        # slow server cannot hold a worker past its lease.
        self.connection.set_deadline(time.monotonic() + settings.SMTP_DEADLINE)
        try:
            self.connection.send(message)
        except SendFailure as failure:
            idle_drop = failure.stage == Stage.MAIL and (
                failure.code == "dropped" or failure.smtp_code == 421
            )
            if not (self.used and idle_drop):
                raise
            self.connection.close()
            self.used = False
            self.connection.send(message)  # opens a fresh connection; a failure now is final
        self.used = True


def _message_for(email: OutboundEmail, identity):
    return build_message(
        from_email=identity.from_email,
        from_name=identity.from_name,
        reply_to=identity.reply_to,
        to=email.to_addresses,
        cc=email.cc_addresses,
        subject=email.subject,
        text=email.body_text,
        html=email.body_html,
        message_id=email.message_id,
    )


def _attempt(email: OutboundEmail, *, owner: str, outcome: str, failure: SendFailure | None = None):
    return DeliveryAttempt(
        tenant_id=email.tenant_id,
        email_id=email.pk,
        at=timezone.now(),
        outcome=outcome,
        stage=failure.stage if failure else "",
        smtp_code=failure.smtp_code if failure else None,
        reply=failure.smtp_reply if failure else "",
        worker=owner,
    )


# One round trip on PostgreSQL: the guarded UPDATE and its attempt row together. This
# runs once per message, so it is the outbox's main cost over a bare SMTP loop.
_RECORD_SENT_SQL = """
WITH sent AS (
    UPDATE communications_outboundemail
    SET status = 'sent', sent_at = %(now)s, tries = tries + 1, lease_owner = '',
        lease_expires_at = NULL, error_code = '', error_message = '', smtp_code = NULL,
        smtp_reply = '', updated_at = %(now)s
    WHERE id = %(id)s AND lease_owner = %(owner)s AND status = 'sending'
    RETURNING id, tenant_id
)
INSERT INTO communications_deliveryattempt
    (tenant_id, email_id, at, outcome, stage, smtp_code, reply, worker)
SELECT tenant_id, id, %(now)s, 'sent', '', NULL, '', %(owner)s FROM sent
"""


def _record_sent(email: OutboundEmail, *, owner: str) -> int:
    now = timezone.now()
    if db_connection.vendor == "postgresql":
        # A server-side prepared statement: parsed and planned once per connection.
        db_connection.ensure_connection()
        with psycopg.Cursor(db_connection.connection) as cursor:
            cursor.execute(
                _RECORD_SENT_SQL, {"now": now, "id": email.pk, "owner": owner}, prepare=True
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
            updated_at=now,
        )
        if recorded:
            DeliveryAttempt.objects.bulk_create(
                [_attempt(email, owner=owner, outcome=Outcome.SENT)]
            )
    if not recorded:
        logger.error("Message %s was sent after its lease was lost", email.pk)
    return recorded


def _failure_fields(
    email: OutboundEmail, failure: SendFailure, *, tried: bool, now
) -> tuple[dict, str]:
    tries = email.tries + (1 if tried else 0)
    fields = {
        "tries": tries,
        "lease_owner": "",
        "lease_expires_at": None,
        "updated_at": now,
        "error_code": failure.code,
        "error_message": failure.full_text(),
        "smtp_code": failure.smtp_code,
        "smtp_reply": failure.smtp_reply,
    }
    if failure.code == "interrupted":
        fields["status"] = Status.ERROR
        return fields, Outcome.INTERRUPTED
    if failure.temporary and tried and tries < MAX_TRIES:
        fields.update(
            status=Status.QUEUED,
            send_started=False,
            next_attempt_at=now + timedelta(minutes=BACKOFF_MINUTES[tries - 1]),
        )
        return fields, Outcome.RETRY
    fields["status"] = Status.ERROR
    return fields, Outcome.ERROR


def _record_failure(
    email: OutboundEmail, *, owner: str, failure: SendFailure, tried: bool = True
) -> None:
    fields, outcome = _failure_fields(email, failure, tried=tried, now=timezone.now())
    recorded = OutboundEmail.objects.filter(
        pk=email.pk, lease_owner=owner, status=Status.SENDING
    ).update(**fields)
    if recorded and tried:
        DeliveryAttempt.objects.bulk_create(
            [_attempt(email, owner=owner, outcome=outcome, failure=failure)]
        )


def _fail_all(batch: list[OutboundEmail], *, owner: str, failure: SendFailure, tried: bool) -> None:
    for email in batch:
        _record_failure(email, owner=owner, failure=failure, tried=tried)


def _fail_due_mail_of_tenant(config: OutgoingEmailSettings, failure: SendFailure) -> None:
    """After an authentication refusal, the tenant's due mail ends as Error at once."""
    now = timezone.now()
    OutboundEmail.objects.filter(
        tenant_id=config.tenant_id, status=Status.QUEUED, next_attempt_at__lte=now
    ).update(
        status=Status.ERROR,
        error_code=failure.code,
        error_message=failure.full_text(),
        smtp_code=failure.smtp_code,
        smtp_reply=failure.smtp_reply,
        updated_at=now,
    )


def reap_expired_leases() -> int:
    """Take back messages whose worker's lease expired: the one that may have been in
    flight ends as Error (interrupted), the others go back to the queue untried."""
    now = timezone.now()
    owners = set(
        OutboundEmail.objects.filter(status=Status.SENDING, lease_expires_at__lt=now).values_list(
            "lease_owner", flat=True
        )
    )
    reaped = 0
    for owner in owners:
        with transaction.atomic():
            held = list(
                OutboundEmail.objects.select_for_update()
                .filter(status=Status.SENDING, lease_owner=owner, lease_expires_at__lt=now)
                .order_by("id")
            )
            if not held:
                continue
            first = held[0]
            # Its predecessors in the batch were recorded, or it was about to be sent.
            if first.send_started or first.pk != first.batch_first_id:
                in_flight, held = first, held[1:]
                interrupted = SendFailure(
                    code="interrupted",
                    message=INTERRUPTED,
                    hint="The worker sending it stopped; check the recipient's mailbox before resending.",
                    stage=Stage.AFTER_DATA,
                )
                _record_failure(in_flight, owner=owner, failure=interrupted)
                reaped += 1
            reaped += OutboundEmail.objects.filter(
                pk__in=[e.pk for e in held], lease_owner=owner, status=Status.SENDING
            ).update(
                status=Status.QUEUED,
                lease_owner="",
                lease_expires_at=None,
                send_started=False,
                updated_at=now,
            )
    return reaped
