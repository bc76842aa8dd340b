"""Writes on the outbox that pages, commands and tasks share: enqueue and resend."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from outbox import transitions
from outbox.counts import count_changes, count_new
from outbox.models import Kind, OutboundEmail, Status
from outbox.tasks import kick_delivery
from routes.config import identity_for, sending_blocked_reason, settings_for
from routes.messages import new_message_id
from yaypay_mail.models import Customer, Invoice, Tenant
from yaypay_mail.validators import validate_email_list

logger = logging.getLogger(__name__)

RESEND_BLOCKED = "Fix Settings | Email | Outgoing emails first"


@dataclass(frozen=True)
class NewEmail:
    to: Sequence[str]
    subject: str
    text: str
    html: str = ""
    cc: Sequence[str] = ()
    customer: Customer | None = None
    kind: str = Kind.MANUAL
    reminder_date: datetime.date | None = None
    invoices: Sequence[Invoice] = ()


def outbox_enqueue_many(
    *, tenant: Tenant, emails: Iterable[NewEmail], kick: bool = True
) -> list[OutboundEmail]:
    """Queue emails for delivery now, with their Message-IDs fixed. Delivery tasks are
    sent when the surrounding transaction commits."""
    new_emails = list(emails)
    for new in new_emails:
        # Checked where written: a bad address is the caller's error, not a worker's.
        validate_email_list(list(new.to), field="to")
        validate_email_list(list(new.cc), field="cc")
        if not new.to:
            raise ValidationError("An email needs at least one recipient.")
    from_email = identity_for(settings_for(tenant)).from_email
    now = timezone.now()
    with transaction.atomic():
        rows = transitions.create(
            [
                OutboundEmail(
                    tenant=tenant,
                    customer=new.customer,
                    kind=new.kind,
                    reminder_date=new.reminder_date,
                    to_addresses=list(new.to),
                    cc_addresses=list(new.cc),
                    subject=new.subject,
                    body_text=new.text,
                    body_html=new.html,
                    message_id=new_message_id(from_email),
                    next_attempt_at=now,
                )
                for new in new_emails
            ]
        )
        links = [
            OutboundEmail.invoices.through(outboundemail_id=row.pk, invoice_id=invoice.pk)
            for row, new in zip(rows, new_emails, strict=True)
            for invoice in new.invoices
        ]
        OutboundEmail.invoices.through.objects.bulk_create(links)
        # The Dashboard's counts, in the same transaction: one upsert for the whole call.
        count_new(tenant_id=tenant.pk, emails=rows)
        if rows and kick:
            kick_delivery(tenant_id=tenant.pk, queued=len(rows))
    return rows


@dataclass(frozen=True)
class ResendResult:
    ok: bool
    message: str


def outbox_resend(*, email: OutboundEmail, kick: bool = True) -> ResendResult:
    """Error -> queued with fresh tries; any other status is left alone. With kick=False
    the caller asks for delivery itself (once for many resends)."""
    if email.status != Status.ERROR:
        return ResendResult(
            False, f"Only emails in Error can be resent; this one is {email.get_status_display()}."
        )
    if sending_blocked_reason(settings_for(email.tenant)):
        return ResendResult(False, RESEND_BLOCKED)
    with transaction.atomic():
        updated = transitions.resend(email.pk)
        if not updated:
            return ResendResult(False, "This email changed meanwhile; nothing was resent.")
        count_changes(tenant_id=email.tenant_id, ids=[email.pk])
        if kick:
            kick_delivery(tenant_id=email.tenant_id)
    return ResendResult(True, "Queued to send again.")
