"""The Aging Report's rollups, kept in step with the invoices so that the report costs
the same for a tenant of 50 invoices and one of 100,000.

- OpenBalance: per tenant, currency and due date, the sum of the unpaid invoices' open
  balances (credits netted in) and how many there are. The totals row buckets these few
  hundred rows by days overdue when it is read, so it is never stale.
- CustomerBalance: per customer and currency, the open total and the overdue total (due
  before the tenant's date in AgingState), for sorting and paging the report's rows.
- AgingState: the tenant's date that every overdue total is right for. When the tenant's
  day moves on, only the customers with invoices that fell due in between are
  recomputed (refresh_overdue): the cost grows with those invoices, not the tenant.

Every write of an invoice goes through invoices_changed: the upsert service per chunk,
Invoice.save(), an invoice's delete, and a customer's delete (customer_deleted). An
UPDATE that bypasses them (a queryset's .update(), raw SQL) leaves the rollups behind
until rebuild_aging runs. The core does not know the tenant's time zone (it lives with
the reminder settings, above it): callers pass `today`.

Each change runs under the tenant's row lock (NO KEY UPDATE, as the upsert service takes
it), so two writers of one tenant's rollups take turns.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from .models import AgingState, Customer, CustomerBalance, Invoice, OpenBalance, Tenant

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
BATCH = 500  # customers recomputed per query


class InvoiceState(NamedTuple):
    """What of an invoice the rollups depend on."""

    customer_id: int
    currency: str
    due_on: datetime.date
    open_balance: Decimal
    paid: bool


def state_of(invoice) -> InvoiceState:
    return InvoiceState(
        invoice.customer_id,
        invoice.currency,
        invoice.due_on,
        invoice.open_balance,
        invoice.paid,
    )


def stored_states(pks: Iterable[int]) -> list[InvoiceState]:
    """The invoices with these ids as the database holds them (before a change)."""
    return [
        InvoiceState(*row)
        for row in Invoice.objects.filter(pk__in=list(pks)).values_list(*InvoiceState._fields)
    ]


def _money(value) -> Decimal:
    # SQLite hands sums back as floats turned Decimal; amounts have cents.
    return Decimal(value or 0).quantize(CENT)


def _lock_tenant(tenant_id: int, *, skip_locked: bool = False) -> bool:
    # NO KEY UPDATE, like the upsert service: rows that merely reference the tenant
    # (emails, delivery records) are not held up.
    return (
        Tenant.objects.select_for_update(no_key=True, skip_locked=skip_locked)
        .filter(pk=tenant_id)
        .values_list("pk", flat=True)
        .first()
        is not None
    )


def overdue_as_of(tenant_id: int, today: datetime.date | None = None) -> datetime.date:
    """The tenant's date of its overdue totals; a tenant without one starts at `today`
    (the server's date when not given: the next page view moves it to the tenant's)."""
    state = AgingState.objects.filter(tenant_id=tenant_id).first()
    if state is None:
        state, _ = AgingState.objects.get_or_create(
            tenant_id=tenant_id, defaults={"overdue_as_of": today or timezone.localdate()}
        )
    return state.overdue_as_of


# --- maintenance ------------------------------------------------------------------------


def invoices_changed(
    *,
    tenant_id: int,
    before: Iterable,
    after: Iterable,
    locked: bool = False,
) -> None:
    """Moves the rollups from the invoices `before` (as stored, or deleted) to `after` (as
    now stored): their unpaid balances leave and join OpenBalance and their customers'
    CustomerBalance rows, as deltas computed here. No query reads the invoices, so the
    cost is that of the chunk, not of the tenant: a few queries per call, whatever the
    number of invoices (up to a chunk of the upsert service)."""
    before = [state_of(item) for item in before]
    after = [state_of(item) for item in after]
    if not before and not after:
        return
    with transaction.atomic():
        if not locked:
            _lock_tenant(tenant_id)
        # Read under the lock: refresh_overdue moves the date under the same lock.
        as_of = overdue_as_of(tenant_id)
        by_due: dict[tuple[str, datetime.date], list] = defaultdict(lambda: [ZERO, 0])
        by_customer: dict[tuple[int, str], list] = defaultdict(lambda: [ZERO, ZERO, 0])
        for sign, states in ((-1, before), (1, after)):
            for state in states:
                if state.paid:
                    continue
                amount = sign * state.open_balance
                due = by_due[state.currency, state.due_on]
                due[0] += amount
                due[1] += sign
                customer = by_customer[state.customer_id, state.currency]
                customer[0] += amount
                if state.due_on < as_of:
                    customer[1] += amount
                customer[2] += sign
        _apply_deltas(tenant_id, {key: value for key, value in by_due.items() if any(value)})
        _apply_customer_deltas(
            tenant_id,
            {key: value for key, value in by_customer.items() if any(value)},
            as_of=as_of,
        )


def _apply_customer_deltas(
    tenant_id: int, deltas: dict[tuple[int, str], list], *, as_of: datetime.date
) -> None:
    """Adds (open, overdue, count) deltas to the customers' rows with one upsert; a row
    whose count reaches 0 goes. The caller holds the tenant's lock."""
    if not deltas:
        return
    customer_ids = sorted({customer_id for customer_id, _ in deltas})
    # New rows carry the name (the name sort); existing ones keep theirs.
    names = dict(Customer.objects.filter(pk__in=customer_ids).values_list("pk", "name"))
    _add_to_rows(
        CustomerBalance,
        keys=("customer_id", "currency"),
        fixed=("tenant_id", "name", "overdue_as_of"),
        added=("open_total", "overdue_total", "invoices"),
        rows=[
            (
                (customer_id, currency),
                (tenant_id, names.get(customer_id, ""), as_of),
                (_money(open_delta), _money(overdue_delta), count),
            )
            for (customer_id, currency), (open_delta, overdue_delta, count) in deltas.items()
        ],
    )
    CustomerBalance.objects.filter(customer_id__in=customer_ids, invoices__lte=0).delete()


def _apply_deltas(tenant_id: int, deltas: dict[tuple[str, datetime.date], list]) -> None:
    """Adds the (amount, count) deltas to the tenant's OpenBalance rows with one upsert;
    a date whose count reaches 0 goes. The caller holds the tenant's lock."""
    if not deltas:
        return
    _add_to_rows(
        OpenBalance,
        keys=("tenant_id", "currency", "due_on"),
        fixed=(),
        added=("amount", "invoices"),
        rows=[
            ((tenant_id, currency, due_on), (), (_money(amount), count))
            for (currency, due_on), (amount, count) in deltas.items()
        ],
    )
    OpenBalance.objects.filter(tenant_id=tenant_id, invoices__lte=0).delete()


def _add_to_rows(model, *, keys, fixed, added, rows) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET column = column + excluded.column, with
    no read first (Django's bulk_update writes a CASE per row, and was most of an
    import's time). On PostgreSQL one statement with an array per column (unnest), so
    the SQL stays short whatever the rows; elsewhere one VALUES statement per 500 rows."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = (*keys, *fixed, *added)
    columns = ", ".join(quote(c) for c in names)
    conflict = ", ".join(quote(c) for c in keys)
    updates = ", ".join(f"{quote(c)} = {table}.{quote(c)} + excluded.{quote(c)}" for c in added)
    flat = [(*key, *constant, *sums) for key, constant, sums in rows]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = [model._meta.get_field(name).db_type(connection) for name in names]
            arrays = ", ".join(f"%s::{db_type}[]" for db_type in types)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) "
                f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
                [list(values) for values in zip(*flat, strict=True)],
            )
            return
        one_row = "(" + ", ".join(["%s"] * len(names)) + ")"
        for start in range(0, len(flat), 500):
            chunk = flat[start : start + 500]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([one_row] * len(chunk))} "
                f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
                [value for row in chunk for value in row],
            )


def recompute_customers(
    tenant_id: int, customer_ids: Iterable[int], *, as_of: datetime.date
) -> None:
    """Recomputes the CustomerBalance rows of these customers from their unpaid invoices
    (index invoice_open_by_due): three queries per BATCH customers."""
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        CustomerBalance.objects.filter(tenant_id=tenant_id, customer_id__in=batch).exclude(
            Exists(
                Invoice.objects.filter(
                    customer_id=OuterRef("customer_id"), currency=OuterRef("currency"), paid=False
                )
            )
        ).delete()
        rows = _customer_sums(
            Invoice.objects.filter(tenant_id=tenant_id, customer_id__in=batch, paid=False),
            as_of,
        )
        _upsert_customer_balances(tenant_id, rows, as_of)


def _customer_sums(invoices, as_of: datetime.date):
    return (
        invoices.values("customer_id", "customer__name", "currency")
        .annotate(
            open_total=Sum("open_balance"),
            overdue_total=Sum("open_balance", filter=Q(due_on__lt=as_of), default=ZERO),
            count=Count("id"),
        )
        .order_by()
    )


def _balance_row(tenant_id: int, row: dict, as_of: datetime.date) -> CustomerBalance:
    return CustomerBalance(
        tenant_id=tenant_id,
        customer_id=row["customer_id"],
        currency=row["currency"],
        name=row["customer__name"],
        open_total=_money(row["open_total"]),
        overdue_total=_money(row["overdue_total"]),
        invoices=row["count"],
        overdue_as_of=as_of,
    )


def _upsert_customer_balances(tenant_id: int, rows, as_of: datetime.date) -> None:
    balances = [_balance_row(tenant_id, row, as_of) for row in rows]
    if balances:
        CustomerBalance.objects.bulk_create(
            balances,
            update_conflicts=True,
            unique_fields=["customer", "currency"],
            update_fields=["name", "open_total", "overdue_total", "invoices", "overdue_as_of"],
        )


def customer_deleted(customer: Customer) -> None:
    """Before a customer's delete: its unpaid invoices leave the tenant's OpenBalance (its
    CustomerBalance rows go with it, by CASCADE). One aggregate, whatever its invoices."""
    with transaction.atomic():
        _lock_tenant(customer.tenant_id)
        sums = (
            Invoice.objects.filter(tenant_id=customer.tenant_id, customer=customer, paid=False)
            .values("currency", "due_on")
            .annotate(amount=Sum("open_balance"), count=Count("id"))
            .order_by()
        )
        _apply_deltas(
            customer.tenant_id,
            {
                (row["currency"], row["due_on"]): [-_money(row["amount"]), -row["count"]]
                for row in sums
            },
        )


def customers_renamed(customer_ids: Sequence[int]) -> None:
    """Copies these customers' names to their CustomerBalance rows (the name sort)."""
    if customer_ids:
        CustomerBalance.objects.filter(customer_id__in=list(customer_ids)).update(
            name=Subquery(Customer.objects.filter(pk=OuterRef("customer_id")).values("name"))
        )


# --- the tenant's day moves on ----------------------------------------------------------


def refresh_overdue(tenant_id: int, *, today: datetime.date) -> bool:
    """Brings the tenant's overdue totals to `today`: recomputes the customers having
    unpaid invoices due between the stored date and `today` (index
    invoice_open_by_tenant_due), then stores `today`. Either direction works (a tenant
    that moves its time zone west goes back a day). False when another transaction holds
    the tenant (an import): the rows stay as they are and the next call tries again."""
    with transaction.atomic():
        if not _lock_tenant(tenant_id, skip_locked=True):
            return False
        state = AgingState.objects.filter(tenant_id=tenant_id).first()
        if state is None:
            AgingState.objects.create(tenant_id=tenant_id, overdue_as_of=today)
            return True
        if state.overdue_as_of == today:
            return True
        low, high = sorted((state.overdue_as_of, today))
        customers = (
            Invoice.objects.filter(
                tenant_id=tenant_id, paid=False, due_on__gte=low, due_on__lt=high
            )
            .order_by()
            .values_list("customer_id", flat=True)
            .distinct()
        )
        recompute_customers(tenant_id, customers, as_of=today)
        AgingState.objects.filter(tenant_id=tenant_id).update(overdue_as_of=today)
    return True


def aging_as_of(tenant_id: int) -> datetime.date | None:
    """The tenant's stored date (None before any rollup), one small query."""
    return (
        AgingState.objects.filter(tenant_id=tenant_id)
        .values_list("overdue_as_of", flat=True)
        .first()
    )


# --- from scratch -----------------------------------------------------------------------


def rebuild_aging(tenant_id: int, *, today: datetime.date) -> None:
    """Recomputes both rollups of the tenant from its invoices and sets its date to
    `today`. Safe to run any time, and again: one transaction under the tenant's lock,
    so it takes turns with imports."""
    with transaction.atomic():
        _lock_tenant(tenant_id)
        OpenBalance.objects.filter(tenant_id=tenant_id).delete()
        CustomerBalance.objects.filter(tenant_id=tenant_id).delete()
        unpaid = Invoice.objects.filter(tenant_id=tenant_id, paid=False)
        OpenBalance.objects.bulk_create(
            OpenBalance(
                tenant_id=tenant_id,
                currency=row["currency"],
                due_on=row["due_on"],
                amount=_money(row["amount"]),
                invoices=row["count"],
            )
            for row in unpaid.values("currency", "due_on")
            .annotate(amount=Sum("open_balance"), count=Count("id"))
            .order_by()
        )
        rows = _customer_sums(unpaid, today).order_by("customer_id", "currency")
        batch = []
        for row in rows.iterator(chunk_size=2000):
            batch.append(_balance_row(tenant_id, row, today))
            if len(batch) == 2000:
                CustomerBalance.objects.bulk_create(batch)
                batch = []
        CustomerBalance.objects.bulk_create(batch)
        AgingState.objects.update_or_create(tenant_id=tenant_id, defaults={"overdue_as_of": today})
