"""The settings page's preview: the reminder as a sample customer would receive it, from
the text being edited (saved or not), in the tenant's locale: two overdue invoices and
an open credit note."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from dunning.emails import RenderedEmail
from dunning.logo import data_url
from dunning.reminder_look import ReminderLook, load_look
from dunning.reminders import render_reminder
from yaypay_mail.models import Customer, Invoice, Tenant

SAMPLE_CUSTOMER = "Sample Customer Ltd"
TEXT_FIELDS = ("subject", "opening", "closing", "how_to_pay", "contact_line")


def sample_invoices(tenant: Tenant, customer: Customer, today: datetime.date) -> list[Invoice]:
    currency = tenant.default_currency or "USD"
    return [
        Invoice(
            tenant=tenant,
            customer=customer,
            number=number,
            issued_on=today - datetime.timedelta(days=days + 30),
            due_on=today - datetime.timedelta(days=days),
            amount=amount,
            open_balance=amount,
            currency=currency,
        )
        for number, days, amount in (
            ("INV-1042", 45, Decimal("12500.00")),
            ("INV-1077", 12, Decimal("830.40")),
        )
    ]


def sample_credits(tenant: Tenant, customer: Customer, today: datetime.date) -> list[Invoice]:
    """One open credit note, so the admin sees how credits are listed and netted."""
    amount = Decimal("-250.00")
    return [
        Invoice(
            tenant=tenant,
            customer=customer,
            number="CR-1090",
            issued_on=today - datetime.timedelta(days=20),
            due_on=today - datetime.timedelta(days=20),
            amount=amount,
            open_balance=amount,
            currency=tenant.default_currency or "USD",
        )
    ]


def render_preview(tenant: Tenant, fields: dict, logo: tuple[bytes | None, str]) -> RenderedEmail:
    """`fields`: subject, opening, closing, how_to_pay, contact_line as typed (checked
    by ReminderTemplateForm); `logo`: (bytes or None, content type) as it would be saved."""
    saved = load_look(tenant)
    data, content_type = logo
    look = ReminderLook(
        locale=saved.locale,
        replies_reach_tenant=saved.replies_reach_tenant,
        logo_content_type=content_type if data else "",
        **{name: fields.get(name) or "" for name in TEXT_FIELDS},
    )
    today = timezone.localdate()
    customer = Customer(tenant=tenant, name=SAMPLE_CUSTOMER)
    return render_reminder(
        tenant=tenant,
        customer=customer,
        invoices=sample_invoices(tenant, customer, today),
        credits=sample_credits(tenant, customer, today),
        today=today,
        look=look,
        logo_src=data_url(data, content_type) if data else "",
    )
