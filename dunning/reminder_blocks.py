"""What a reminder asks for, per currency: the customer's overdue invoices, its open
credits (invoices with a negative open balance, as the Statement lists them), and the
balance to pay. A currency whose credits cover everything overdue asks for nothing and
has no block; a customer left without blocks gets no reminder."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, Sum

from yaypay_mail.models import Invoice

ZERO = Decimal("0.00")


@dataclass
class CurrencyBlock:
    currency: str
    invoices: list[Invoice] = field(default_factory=list)  # overdue, by due date
    credits: list[Invoice] = field(default_factory=list)  # open_balance < 0

    @property
    def overdue(self) -> Decimal:
        return sum((invoice.open_balance for invoice in self.invoices), ZERO)

    @property
    def balance(self) -> Decimal:
        """The overdue invoices net of every open credit: what the customer is asked
        to pay. The Statement's total when nothing else is open in the currency."""
        return self.overdue + sum((credit.open_balance for credit in self.credits), ZERO)


def overdue_q(today: datetime.date) -> Q:
    return Q(paid=False, due_on__lt=today, open_balance__gt=0)


def credit_q() -> Q:
    # Open credits whatever their dates: a credit note can be used as soon as it exists.
    return Q(paid=False, open_balance__lt=0)


def blocks_to_ask(invoices: Iterable[Invoice], credits: Iterable[Invoice]) -> list[CurrencyBlock]:
    """One block per currency with overdue invoices whose balance stays above zero once
    the credits are netted in, by currency code."""
    blocks: dict[str, CurrencyBlock] = {}
    for invoice in sorted(invoices, key=lambda i: (i.due_on, i.number)):
        blocks.setdefault(invoice.currency, CurrencyBlock(invoice.currency)).invoices.append(
            invoice
        )
    for credit in sorted(credits, key=lambda i: (i.due_on, i.number)):
        if credit.currency in blocks:
            blocks[credit.currency].credits.append(credit)
    return [blocks[c] for c in sorted(blocks) if blocks[c].balance > 0]


def credits_of(customer_ids: Iterable[int]) -> dict[int, list[Invoice]]:
    """The customers' open credits, in one query (index invoice_open_by_due)."""
    found: dict[int, list[Invoice]] = defaultdict(list)
    for credit in Invoice.objects.filter(credit_q(), customer_id__in=list(customer_ids)):
        found[credit.customer_id].append(credit)
    return found


def something_to_ask(today: datetime.date) -> Exists:
    """For a Customer queryset: some currency's overdue invoices exceed its credits."""
    netted = (
        Invoice.objects.filter(overdue_q(today) | credit_q(), customer=OuterRef("pk"))
        .order_by()
        .values("currency")
        .annotate(balance=Sum("open_balance"))
        .filter(balance__gt=0)  # credits are negative: a positive sum has overdue invoices
    )
    return Exists(netted)
