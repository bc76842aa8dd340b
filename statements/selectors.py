"""Reads for the collector pages: a customer's open invoices and the Aging Report."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from outbox.models import OutboundEmail
from outbox.selectors import latest_reminders_of
from yaypay_mail.balances import aging_as_of, refresh_overdue
from yaypay_mail.models import Customer, CustomerBalance, Invoice, OpenBalance, Tenant

from .aging_forms import AFTER, BEFORE, AgingCursor, encode_cursor

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
BUCKET_LABELS = ("Current", "1-30", "31-60", "61-90", "90+")


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


# --- the Aging Report ----------------------------------------------------------------
#
# Its cost does not grow with the tenant: the rows are paged by keyset on the rollup
# CustomerBalance (one index per sort), the totals row is bucketed from the few hundred
# OpenBalance rows, and only the page's customers' invoices and reminders are read.
# yaypay_mail/balances.py keeps the rollups; docs/performance.md shows the plans.

AGING_PAGE_SIZE = 50
# sort -> (CustomerBalance column, descending); ties are broken by the customer's id.
AGING_SORTS = {
    "overdue": ("overdue_total", True),
    "total": ("open_total", True),
    "name": ("name", False),
}


@dataclass
class AgingLine:
    currency: str
    buckets: list[Decimal]  # in BUCKET_LABELS order
    total: Decimal

    @property
    def overdue(self) -> Decimal:
        return sum(self.buckets[1:], ZERO)


@dataclass
class AgingRow:
    customer: Customer
    currency: str
    buckets: list[Decimal]
    total: Decimal
    overdue: Decimal
    last_reminder: OutboundEmail | None = None
    # Where the page is keyed: (sort key, customer id).
    key: tuple = ()

    @property
    def pause_reason(self) -> str | None:
        """None when reminders go out, else the reason ("" when none was given)."""
        return self.customer.pause_reason if self.customer.reminders_paused else None


@dataclass
class AgingPage:
    today: datetime.date
    currency: str  # "" when the tenant has no open balance
    currencies: list[str]
    totals: AgingLine | None
    rows: list[AgingRow] = field(default_factory=list)
    next_cursor: str | None = None
    previous_cursor: str | None = None
    fresh: bool = True  # False: the overdue order is of an earlier day (an import ran)


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


def bucket_of(due_on: datetime.date, today: datetime.date) -> int:
    """The index in BUCKET_LABELS of an invoice due on `due_on`."""
    days = (today - due_on).days
    return 0 if days <= 0 else 1 if days <= 30 else 2 if days <= 60 else 3 if days <= 90 else 4


def aging_fresh(tenant: Tenant, today: datetime.date) -> bool:
    """Brings the tenant's overdue totals to `today` when its day has moved on (one small
    query when it has not); False when an import holds the tenant meanwhile."""
    if aging_as_of(tenant.pk) == today:
        return True
    return refresh_overdue(tenant.pk, today=today)


def open_balances(tenant: Tenant) -> dict[str, list[tuple[datetime.date, Decimal]]]:
    """The tenant's OpenBalance rows by currency: (due date, amount)."""
    by_currency: dict[str, list[tuple[datetime.date, Decimal]]] = {}
    for currency, due_on, amount in OpenBalance.objects.filter(tenant=tenant).values_list(
        "currency", "due_on", "amount"
    ):
        by_currency.setdefault(currency, []).append((due_on, amount))
    return by_currency


def aging_totals(
    currency: str, balances: list[tuple[datetime.date, Decimal]], today: datetime.date
) -> AgingLine:
    buckets = [ZERO] * len(BUCKET_LABELS)
    for due_on, amount in balances:
        buckets[bucket_of(due_on, today)] += amount
    buckets = [_money(amount) for amount in buckets]
    return AgingLine(currency, buckets, _money(sum(buckets)))


def default_currency(tenant: Tenant, balances: dict[str, list]) -> str:
    """The tenant's default currency if it has open balances in it, else the one with
    the largest open total ("" when there is none)."""
    if tenant.default_currency in balances:
        return tenant.default_currency
    totals = {currency: sum(amount for _, amount in rows) for currency, rows in balances.items()}
    return max(sorted(totals), key=lambda currency: totals[currency], default="")


def aging_page(
    tenant: Tenant,
    *,
    today: datetime.date,
    currency: str = "",
    sort: str = "overdue",
    cursor: AgingCursor | None = None,
    size: int = AGING_PAGE_SIZE,
) -> AgingPage:
    """One page of the Aging Report in one currency: five queries whatever the tenant
    holds (the rollups' date, the totals, the page's rows, their buckets, their last
    reminders), plus a refresh of the customers whose invoices fell due on the tenant's
    first view of a day."""
    fresh = aging_fresh(tenant, today)
    balances = open_balances(tenant)
    currency = currency or default_currency(tenant, balances)
    page = AgingPage(
        today=today,
        currency=currency,
        currencies=sorted(balances),
        totals=aging_totals(currency, balances[currency], today) if currency in balances else None,
        fresh=fresh,
    )
    if currency not in balances:
        return page
    backwards = cursor is not None and cursor.direction == BEFORE
    found = list(aging_rows(tenant, currency=currency, sort=sort, cursor=cursor)[: size + 1])
    more = len(found) > size
    found = found[:size]
    if backwards:
        found.reverse()
    has_next = cursor is not None if backwards else more
    has_previous = more if backwards else cursor is not None
    page.rows = with_buckets_and_reminders(tenant, found, currency=currency, sort=sort, today=today)
    if page.rows:
        first, last = page.rows[0], page.rows[-1]
        if has_next:
            page.next_cursor = encode_cursor(AFTER, sort, currency, *last.key)
        if has_previous:
            page.previous_cursor = encode_cursor(BEFORE, sort, currency, *first.key)
    return page


def aging_rows(
    tenant: Tenant,
    *,
    currency: str,
    sort: str,
    cursor: AgingCursor | None = None,
) -> QuerySet[CustomerBalance]:
    """The tenant's CustomerBalance rows in `currency`, in `sort` order, after (or, for a
    BEFORE cursor, before and in reverse) the cursor's position: a keyset on the sort's
    index (customer_balance_by_overdue, _by_total, _by_name)."""
    column, descending = AGING_SORTS[sort]
    rows = CustomerBalance.objects.filter(tenant=tenant, currency=currency)
    backwards = cursor is not None and cursor.direction == BEFORE
    if cursor is not None:
        # Further along a descending order is smaller, unless going back.
        smaller = descending != backwards
        rel, strict, tie = ("lte", "lt", "lt") if smaller else ("gte", "gt", "gt")
        key, pk = cursor.key, cursor.pk
        # The redundant non-strict bound is where the index scan starts; the OR only
        # trims the rows tied on the key.
        rows = rows.filter(
            Q(**{f"{column}__{rel}": key})
            & (Q(**{f"{column}__{strict}": key}) | Q(**{column: key, f"customer_id__{tie}": pk}))
        )
    ascending = not descending if not backwards else descending
    order = (column, "customer_id") if ascending else (f"-{column}", "-customer_id")
    return (
        rows.select_related("customer")
        .only(
            "customer_id",
            "currency",
            "name",
            "open_total",
            "overdue_total",
            "customer__id",
            "customer__name",
            "customer__external_id",
            "customer__reminders_paused",
            "customer__pause_reason",
        )
        .order_by(*order)
    )


def with_buckets_and_reminders(
    tenant: Tenant,
    balances: list[CustomerBalance],
    *,
    currency: str,
    sort: str,
    today: datetime.date,
) -> list[AgingRow]:
    """The page's rows with their buckets, computed from these customers' open invoices
    in `currency` (index invoice_open_by_due), and their last reminders: two queries."""
    if not balances:
        return []
    ids = [balance.customer_id for balance in balances]
    sums = {
        f"bucket_{index}": Sum("open_balance", filter=condition, default=ZERO)
        for index, condition in enumerate(_bucket_filters(today))
    }
    buckets = {
        row["customer_id"]: [_money(row[name]) for name in sums]
        for row in Invoice.objects.filter(
            tenant=tenant, customer_id__in=ids, currency=currency, paid=False
        )
        .values("customer_id")
        .annotate(**sums)
        .order_by()
    }
    reminders = latest_reminders_of(tenant, ids)
    column, _ = AGING_SORTS[sort]
    rows = []
    for balance in balances:
        amounts = buckets.get(balance.customer_id, [ZERO] * len(BUCKET_LABELS))
        rows.append(
            AgingRow(
                customer=balance.customer,
                currency=currency,
                buckets=amounts,
                total=_money(sum(amounts)),
                overdue=_money(sum(amounts[1:])),
                last_reminder=reminders.get(balance.customer_id),
                key=(getattr(balance, column), balance.customer_id),
            )
        )
    return rows
