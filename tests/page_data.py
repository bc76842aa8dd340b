"""Rows for page tests, made directly with the ORM: customers, invoices, outbox emails."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.utils import timezone

from outbox.models import Kind, OutboundEmail, Status
from yaypay_mail.models import Customer, Invoice, Tenant

AUTH_REASON = (
    "The mail server refused the username or password.\n"
    "Check the Username and Password in Settings | Email | Outgoing emails.\n"
    "Server said: 535 5.7.8 Username and Password not accepted"
)


def make_customer(tenant: Tenant, name: str = "Initech", **fields) -> Customer:
    fields.setdefault("billing_email", f"ap@{name.lower().replace(' ', '')}.example")
    return Customer.objects.create(tenant=tenant, name=name, **fields)


def make_invoice(
    customer: Customer,
    number: str,
    *,
    due_on: datetime.date,
    open_balance: str = "100.00",
    currency: str = "USD",
    paid: bool = False,
) -> Invoice:
    return Invoice.objects.create(
        tenant_id=customer.tenant_id,
        customer=customer,
        number=number,
        issued_on=due_on - datetime.timedelta(days=30),
        due_on=due_on,
        amount=Decimal(open_balance) + Decimal("50.00"),
        open_balance=Decimal(0) if paid else Decimal(open_balance),  # paid: nothing open
        currency=currency,
    )


def make_email(
    tenant: Tenant,
    *,
    customer: Customer | None = None,
    status: str = Status.SENT,
    subject: str = "Payment reminder",
    to: tuple[str, ...] = ("ap@initech.example",),
    cc: tuple[str, ...] = (),
    kind: str = Kind.MANUAL,
    created_at: datetime.datetime | None = None,
    **fields,
) -> OutboundEmail:
    if status == Status.ERROR:
        fields.setdefault("error_code", "auth_failed")
        fields.setdefault("error_message", AUTH_REASON)
        fields.setdefault("smtp_code", 535)
        fields.setdefault("smtp_reply", "5.7.8 Username and Password not accepted")
        fields.setdefault("tries", 1)
    email = OutboundEmail.objects.create(
        tenant=tenant,
        customer=customer,
        kind=kind,
        to_addresses=list(to),
        cc_addresses=list(cc),
        subject=subject,
        body_text=f"Dear customer,\n\n{subject}.\n",
        message_id=f"<{uuid.uuid4().hex}@acme.example>",
        status=status,
        next_attempt_at=timezone.now(),
        **fields,
    )
    if created_at is not None:
        # created_at is auto_now_add: move it afterwards.
        OutboundEmail.objects.filter(pk=email.pk).update(created_at=created_at)
        email.refresh_from_db()
    return email
