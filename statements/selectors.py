"""Reads for the collector pages: a customer's open invoices and the Aging Report."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from communications.models import OutboundEmail
from communications.reminders import local_today
from communications.selectors import latest_reminder_by_customer
from communications.services import reminder_settings_for
from yaypay_mail.models import Customer, Invoice, Tenant

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
BUCKET_LABELS = ("Current", "1-30", "31-60", "61-90", "90+")


def tenant_today(tenant: Tenant, now: datetime.datetime | None = None) -> datetime.date:
    """Today in the tenant's time zone (the reminder settings'): overdue days count from it."""
    return local_today(reminder_settings_for(tenant), now)


def open_invoices(customer: Customer) -> QuerySet[Invoice]:
    return Invoice.objects.filter(
        tenant_id=customer.tenant_id, customer=customer, paid=False
    ).order_by("due_on", "number")


def open_totals_by_currency(customer: Customer) -> dict[str, Decimal]:
    rows = (
        open_invoices(customer)
        .order_by("currency")
        .values("currency")
        .annotate(total=Sum("open_balance"))
    )
    return {row["currency"]: _money(row["total"]) for row in rows}


def _money(value) -> Decimal:
    # SQLite hands sums back as floats turned Decimal (123.450000000000); amounts have cents.
    return Decimal(value or 0).quantize(CENT)


@dataclass
class AgingLine:
    currency: str
    buckets: list[Decimal]  # in BUCKET_LABELS order
    total: Decimal


@dataclass
class AgingCustomer:
    customer_id: int
    name: str
    lines: list[AgingLine] = field(default_factory=list)
    last_reminder: OutboundEmail | None = None


@dataclass
class AgingReport:
    today: datetime.date
    customers: list[AgingCustomer]
    totals: list[AgingLine]  # one per currency


def _bucket_filters(today: datetime.date) -> list[Q]:
    """Days overdue 0 (not yet due or due today), 1-30, 31-60, 61-90, over 90."""

    def days_ago(days: int) -> datetime.date:
        return today - datetime.timedelta(days=days)

    return [
        Q(due_on__gte=today),
        Q(due_on__lt=today, due_on__gte=days_ago(30)),
        Q(due_on__lt=days_ago(30), due_on__gte=days_ago(60)),
        Q(due_on__lt=days_ago(60), due_on__gte=days_ago(90)),
        Q(due_on__lt=days_ago(90)),
    ]


def aging_report(tenant: Tenant, *, today: datetime.date) -> AgingReport:
    """Each customer's open balance by days overdue, per currency, with its last reminder."""
    sums = {
        f"bucket_{index}": Sum("open_balance", filter=condition, default=ZERO)
        for index, condition in enumerate(_bucket_filters(today))
    }
    rows = (
        Invoice.objects.filter(tenant=tenant, paid=False)
        .values("customer_id", "customer__name", "currency")
        .annotate(total=Sum("open_balance"), **sums)
        .order_by("customer__name", "customer_id", "currency")
    )
    reminders = latest_reminder_by_customer(tenant)
    customers: dict[int, AgingCustomer] = {}
    totals: dict[str, AgingLine] = {}
    for row in rows:
        line = AgingLine(
            currency=row["currency"],
            buckets=[_money(row[name]) for name in sums],
            total=_money(row["total"]),
        )
        customer = customers.get(row["customer_id"])
        if customer is None:
            customer = customers[row["customer_id"]] = AgingCustomer(
                customer_id=row["customer_id"],
                name=row["customer__name"],
                last_reminder=reminders.get(row["customer_id"]),
            )
        customer.lines.append(line)
        total = totals.setdefault(
            line.currency, AgingLine(line.currency, [ZERO] * len(BUCKET_LABELS), ZERO)
        )
        total.buckets = [a + b for a, b in zip(total.buckets, line.buckets, strict=True)]
        total.total += line.total
    return AgingReport(
        today=today,
        customers=list(customers.values()),
        totals=[totals[currency] for currency in sorted(totals)],
    )
