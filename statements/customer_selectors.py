"""Reads for the Customers pages: the keyset-paginated list, a customer's history, and
pause reasons for the Aging Report. Every query is scoped by tenant."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, Sum

from outbox.models import OutboundEmail
from outbox.selectors import latest_reminders_of
from yaypay_mail.models import Customer, CustomerChange, Invoice, Tenant

from .customer_forms import AFTER, BEFORE, encode_cursor

PAGE_SIZE = 50
HISTORY_SIZE = 20
CENT = Decimal("0.01")


@dataclass
class CustomerRow:
    customer: Customer
    balances: list[tuple[str, Decimal]] = field(default_factory=list)  # by currency
    last_reminder: OutboundEmail | None = None


@dataclass
class CustomerPage:
    rows: list[CustomerRow]
    next_cursor: str | None  # None: this is the last page
    previous_cursor: str | None  # None: this is the first page


def customer_page(
    tenant: Tenant,
    *,
    q: str = "",
    paused: bool | None = None,
    cursor: tuple[str, str, int] | None = None,
    size: int = PAGE_SIZE,
) -> CustomerPage:
    """One page of the tenant's customers by (name, id), after or before `cursor`
    (direction, name, id). Three queries whatever the page size; no count, no offset."""
    customers = Customer.objects.filter(tenant=tenant)
    q = q.strip()
    if q:
        customers = customers.filter(
            Q(name__icontains=q) | Q(external_id__icontains=q) | Q(billing_email__icontains=q)
        )
    if paused is not None:
        customers = customers.filter(reminders_paused=paused)
    backwards = cursor is not None and cursor[0] == BEFORE
    if cursor is not None:
        _direction, name, pk = cursor
        if backwards:
            position = Q(name__lt=name) | Q(name=name, id__lt=pk)
        else:
            position = Q(name__gt=name) | Q(name=name, id__gt=pk)
        customers = customers.filter(position)
    order = ("-name", "-id") if backwards else ("name", "id")
    found = list(customers.order_by(*order)[: size + 1])
    more = len(found) > size
    found = found[:size]
    if backwards:
        found.reverse()
    has_next = cursor is not None if backwards else more
    has_previous = more if backwards else cursor is not None
    rows = _with_balances_and_reminders(tenant, found)
    return CustomerPage(
        rows=rows,
        next_cursor=encode_cursor(AFTER, found[-1].name, found[-1].pk)
        if has_next and found
        else None,
        previous_cursor=encode_cursor(BEFORE, found[0].name, found[0].pk)
        if has_previous and found
        else None,
    )


def _with_balances_and_reminders(tenant: Tenant, customers: list[Customer]) -> list[CustomerRow]:
    rows = {customer.pk: CustomerRow(customer) for customer in customers}
    if not rows:
        return []
    for balance in (
        # Open balance: every unpaid invoice, so credits (negative balances) net in.
        Invoice.objects.filter(tenant=tenant, customer_id__in=rows, paid=False)
        .values("customer_id", "currency")
        .annotate(total=Sum("open_balance"))
        .order_by("customer_id", "currency")
    ):
        rows[balance["customer_id"]].balances.append(
            (balance["currency"], Decimal(balance["total"] or 0).quantize(CENT))
        )
    for customer_id, email in latest_reminders_of(tenant, rows).items():
        rows[customer_id].last_reminder = email
    return list(rows.values())


FIELD_LABELS = {
    "name": "Name",
    "external_id": "Customer id",
    "billing_email": "Billing email",
    "cc_emails": "CC emails",
    "reminders_paused": "Reminders paused",
    "pause_reason": "Pause reason",
}


@dataclass
class HistoryEntry:
    at: datetime.datetime
    actor: str
    source: str
    lines: list[str]


def customer_history(customer: Customer, *, limit: int = HISTORY_SIZE) -> list[HistoryEntry]:
    """The customer's latest changes, newest first, each described in sentences."""
    changes = CustomerChange.objects.filter(
        tenant_id=customer.tenant_id, customer=customer
    ).select_related("actor")[:limit]
    return [
        HistoryEntry(
            at=change.at,
            actor=change.actor.email if change.actor else "—",
            source=change.get_source_display(),
            lines=describe_changes(change.changes),
        )
        for change in changes
    ]


def describe_changes(changes: dict) -> list[str]:
    """{"billing_email": ["a@x", "b@x"]} -> ["Billing email: a@x → b@x"]."""
    lines = []
    for name, values in changes.items():
        if name == "created":
            lines.append("Created")
            if isinstance(values, dict):
                lines.extend(f"{_label(key)}: {_shown(value)}" for key, value in values.items())
        elif isinstance(values, list | tuple) and len(values) == 2:
            old, new = values
            lines.append(f"{_label(name)}: {_shown(old)} → {_shown(new)}")
        else:
            lines.append(f"{_label(name)}: {_shown(values)}")
    return lines


def _label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())


def _shown(value) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value in (None, "", []):
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)
