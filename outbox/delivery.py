"""Claim, prepare, send and record: how workers deliver a tenant's due mail.

A worker claims a batch of one tenant's due messages (outbox.leases),
prepares every message of it (reminders re-rendered, addresses checked, MIME
built: a message that cannot be prepared ends as Error alone), then sends the
rest in id order over one connection of the tenant's route, outside any
transaction, recording each outcome right after its send (outbox.outcomes).
A heartbeat thread keeps the lease while the batch goes.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError

from outbox import shutdown
from outbox.counts import count_changes
from outbox.hooks import run_pre_send
from outbox.leases import (
    LeaseHeartbeat,
    claim_batch,
    mark_sending_started,
    new_lease_owner,
    release,
)
from outbox.models import OutboundEmail
from outbox.outcomes import (
    SentAs,
    fail_all,
    fail_due_mail_of_tenant,
    hold_for_operator,
    pause_route,
    record_failure,
    record_sent,
)
from routes.choice import route_for
from routes.config import (
    Identity,
    identity_for,
    mark_failing,
    mark_working,
    sending_blocked_reason,
    settings_for,
)
from routes.failures import Scope, SendFailure, Stage
from routes.messages import InlineImage, PreparedMessage, build_message
from routes.models import OutgoingEmailSettings, UseServer

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
# The guard refused the tenant's server: no connection was tried, so no try is used.
NOT_A_TRY = {"host_refused"}
# After a send the server left unanswered, the rest of the batch waits this long.
STALL_PAUSE_SECONDS = 60


def deliver_due(*, tenant_id: int, batch_size: int = BATCH_SIZE, owner: str | None = None) -> int:
    """Send this tenant's due mail until none is left, a sending limit is reached or the
    worker is asked to stop. Returns how many messages the server accepted."""
    owner = owner or new_lease_owner()
    sent = 0
    with shutdown.stop_gracefully_on_sigterm():
        while not shutdown.stop_requested() and (
            batch := claim_batch(tenant_id=tenant_id, owner=owner, limit=batch_size)
        ):
            with LeaseHeartbeat(owner) as heartbeat:
                sent += send_batch(batch, owner=owner, heartbeat=heartbeat)
            _count_batch(tenant_id, batch)
    return sent


def _count_batch(tenant_id: int, batch: list[OutboundEmail]) -> None:
    """One flush of the Dashboard's counts per batch, never one per message. If it fails
    (or the worker dies before it), the sweep counts these rows within seconds."""
    try:
        count_changes(tenant_id=tenant_id, ids=[email.pk for email in batch])
    except DatabaseError:
        logger.exception("Status counts of tenant %s: batch not counted; the sweep will", tenant_id)


def send_batch(
    batch: list[OutboundEmail], *, owner: str, heartbeat: LeaseHeartbeat | None = None
) -> int:
    config = settings_for(batch[0].tenant)
    blocked = sending_blocked_reason(config)
    if blocked:
        # No login to a server that refused ours until the settings are saved again.
        failure = SendFailure(code="auth_failed", message=blocked, stage=Stage.AUTH)
        fail_all(batch, owner=owner, failure=failure, tried=False)
        return 0
    identity = identity_for(config)
    sent_as = SentAs(
        route=config.use_server,
        from_header=identity.header(),
        reply_to=identity.reply_to or "",
    )
    prepared = prepare_batch(batch, identity=identity, owner=owner)
    if not prepared:
        return 0
    try:
        route = route_for(config, timeout=settings.SMTP_TIMEOUT)
    except SendFailure as failure:
        emails = [email for email, _ in prepared]
        _route_failed(config, emails, owner=owner, failure=failure, sent_as=sent_as)
        return 0

    sent = 0
    with route:
        for index, (email, message) in enumerate(prepared):
            if shutdown.stop_requested():
                released = release(owner=owner)
                logger.info("Worker stopping: %s emails back to the queue", released)
                break
            if heartbeat is not None and not heartbeat.held():
                logger.warning(
                    "Lease %s lost or not renewed; leaving the rest of the batch to the reaper",
                    owner,
                )
                break
            if index == 0 and not mark_sending_started(owner=owner):
                break
            try:
                provider_id = route.send(message)
            except SendFailure as failure:
                if failure.scope == Scope.ROUTE:
                    # Every remaining message would meet the same failure: record it
                    # for all of them now instead of knocking on the door again.
                    rest = [email for email, _ in prepared[index:]]
                    _route_failed(config, rest, owner=owner, failure=failure, sent_as=sent_as)
                    break
                record_failure(email, owner=owner, failure=failure, sent_as=sent_as)
                if failure.maybe_delivered:
                    # A server that left one message unanswered would most likely hang
                    # on the next as well: one uncertain email, not one per time-out.
                    rest = [email for email, _ in prepared[index + 1 :]]
                    if rest:
                        pause_route(rest, owner=owner, failure=_stalled(failure))
                    break
            else:
                sent += record_sent(email, owner=owner, sent_as=sent_as, provider_id=provider_id)
    if sent and config.use_server != UseServer.GATEWAY:
        mark_working(config)
    return sent


def _stalled(failure: SendFailure) -> SendFailure:
    return SendFailure(
        code="server_stalled",
        message="The server did not answer the previous email in time.",
        hint="Sending pauses for a minute and goes on by itself; no tries are used.",
        temporary=True,
        retry_after=STALL_PAUSE_SECONDS,
        stage=failure.stage,
        scope=Scope.ROUTE,
    )


def prepare_batch(
    batch: list[OutboundEmail], *, identity: Identity, owner: str
) -> list[tuple[OutboundEmail, PreparedMessage]]:
    """Every message of the batch, ready for any route. Preparing is the same for all
    routes and happens before the first send, so a bad row (a reminder that cannot be
    re-rendered, an address that is not one) ends as Error `invalid_message` alone,
    never counted as sent or interrupted, and the batch goes on."""
    ready = []
    for email, inline_image in run_pre_send(batch, owner=owner, on_error=_invalid(owner)):
        try:
            ready.append((email, _message_for(email, identity, inline_image=inline_image)))
        except Exception as error:
            _invalid(owner)(email, error)
    return ready


def _invalid(owner: str):
    def record(email: OutboundEmail, error: Exception) -> None:
        failure = SendFailure(
            code="invalid_message",
            message="This email cannot be sent: it could not be prepared.",
            hint=f"{error.__class__.__name__}: {_safe_text(error)}. "
            "Correct the customer's email addresses, then resend.",
            scope=Scope.MESSAGE,
        )
        record_failure(email, owner=owner, failure=failure, tried=False)

    return record


def _safe_text(error: Exception) -> str:
    text = " ".join(str(error).split())[:200]
    return text.rstrip(".") or "no details"


def _message_for(
    email: OutboundEmail, identity: Identity, *, inline_image: InlineImage | None = None
) -> PreparedMessage:
    for address in [*email.to_addresses, *email.cc_addresses]:
        if not isinstance(address, str):
            raise ValueError(f"{address!r} is not an email address")
    if not email.to_addresses:
        raise ValueError("the email has no recipient")
    recipients = email.recipient_count
    if recipients > settings.MAX_RECIPIENTS:
        raise ValueError(
            f"it has {recipients} addresses in To and Cc; at most "
            f"{settings.MAX_RECIPIENTS} are allowed"
        )
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
        inline_image=inline_image,
    )


def _route_failed(
    config: OutgoingEmailSettings,
    emails: list[OutboundEmail],
    *,
    owner: str,
    failure: SendFailure,
    sent_as: SentAs,
) -> None:
    """A failure of the route itself. Credentials the operator's keys cannot open hold
    the mail for the operator. On the tenant's own server or mailbox a permanent failure is a
    settings problem: it becomes the settings' last result (page and Dashboard), and a
    refused login also ends the tenant's due mail and blocks further logins."""
    if failure.code == "secret_unreadable":
        hold_for_operator(emails, owner=owner, failure=failure)
        return
    if failure.temporary and failure.retry_after and not failure.maybe_delivered:
        # The provider said when to come back (a rate limit): no tries are used.
        pause_route(emails, owner=owner, failure=failure)
        return
    if config.use_server != UseServer.GATEWAY and not failure.temporary:
        mark_failing(config, failure)
        if failure.code == "auth_failed":
            fail_due_mail_of_tenant(tenant_id=config.tenant_id, failure=failure)
    fail_all(
        emails,
        owner=owner,
        failure=failure,
        tried=failure.code not in NOT_A_TRY,
        sent_as=sent_as,
    )
