"""The Aging Report's rollups (yaypay_mail/balances.py): OpenBalance and CustomerBalance
always equal what the invoices add up to, however the invoices were written, and the
tenant's day moving on moves what is overdue."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest

from tests.page_data import make_customer, make_invoice
from yaypay_mail.balances import rebuild_aging, refresh_overdue
from yaypay_mail.models import (
    AgingState,
    Customer,
    CustomerBalance,
    Invoice,
    OpenBalance,
)
from yaypay_mail.upserts import RawRecord, upsert_customers, upsert_invoices

TODAY = datetime.date(2026, 3, 10)


def days_ago(days: int) -> str:
    return (TODAY - datetime.timedelta(days=days)).isoformat()


def expected(tenant):
    """The rollups computed in Python from the tenant's invoices."""
    as_of = AgingState.objects.get(tenant=tenant).overdue_as_of
    open_balances = defaultdict(lambda: [Decimal(0), 0])
    customers = {}
    for invoice in Invoice.objects.filter(tenant=tenant, paid=False).select_related("customer"):
        row = open_balances[invoice.currency, invoice.due_on]
        row[0] += invoice.open_balance
        row[1] += 1
        line = customers.setdefault(
            (invoice.customer_id, invoice.currency), [Decimal(0), Decimal(0), invoice.customer.name]
        )
        line[0] += invoice.open_balance
        if invoice.due_on < as_of:
            line[1] += invoice.open_balance
    return dict(open_balances), customers


def stored(tenant):
    open_balances = {
        (row.currency, row.due_on): [row.amount, row.invoices]
        for row in OpenBalance.objects.filter(tenant=tenant)
    }
    customers = {
        (row.customer_id, row.currency): [row.open_total, row.overdue_total, row.name]
        for row in CustomerBalance.objects.filter(tenant=tenant)
    }
    return open_balances, customers


def assert_rollups_right(tenant):
    want = expected(tenant)
    assert stored(tenant) == want
    return want


def invoice(number, customer, due_days_ago, amount, balance=None, currency="USD"):
    values = {
        "invoice_number": number,
        "customer_id": customer,
        "due_date": days_ago(due_days_ago),
        "amount": amount,
        "currency": currency,
    }
    if balance is not None:
        values["open_balance"] = balance
    return values


def upsert(tenant, items, sync="upsert"):
    report = upsert_invoices(
        tenant=tenant,
        records=[RawRecord(position, values) for position, values in enumerate(items, start=2)],
        sync=sync,
    )
    assert report.ok, report.errors
    return report


@pytest.fixture
def customers(tenant_a):
    report = upsert_customers(
        tenant=tenant_a,
        records=[
            RawRecord(
                n,
                {"customer_id": f"C-{n}", "name": f"Customer {n}", "billing_email": "a@x.example"},
            )
            for n in (1, 2, 3)
        ],
    )
    assert report.ok
    # The tenant's date, as the page sets it: overdue counts from TODAY.
    rebuild_aging(tenant_a.pk, today=TODAY)
    return report


MIXED = [
    invoice("I-1", "C-1", 10, "100.00"),
    invoice("I-2", "C-1", 45, "250.50", currency="EUR"),
    invoice("I-3", "C-1", -5, "80.00"),  # not yet due
    invoice("I-4", "C-2", 95, "1000.00", "400.00"),
    invoice("CN-1", "C-2", 20, "-30.00"),  # a credit, netted in
    invoice("I-5", "C-2", 0, "70.00", currency="EUR"),  # due today: not overdue
    invoice("I-6", "C-3", 31, "60.00", "0"),  # paid
    invoice("I-7", "C-3", 10, "20.00"),  # same due date as I-1
]


def test_upserted_invoices_add_up_in_both_rollups(tenant_a, customers):
    upsert(tenant_a, MIXED)

    open_balances, by_customer = assert_rollups_right(tenant_a)
    c1, c2, c3 = (Customer.objects.get(external_id=f"C-{n}").pk for n in (1, 2, 3))
    assert open_balances["USD", TODAY - datetime.timedelta(days=10)] == [Decimal("120.00"), 2]
    assert by_customer[c2, "USD"][:2] == [Decimal("370.00"), Decimal("370.00")]
    assert by_customer[c2, "EUR"][:2] == [Decimal("70.00"), Decimal("0")]
    assert (c3, "EUR") not in by_customer
    assert by_customer[c3, "USD"][:2] == [Decimal("20.00"), Decimal("20.00")]
    assert by_customer[c1, "USD"][:2] == [Decimal("180.00"), Decimal("100.00")]


def test_updates_and_marks_paid_move_the_rollups(tenant_a, customers):
    upsert(tenant_a, MIXED)
    upsert(
        tenant_a,
        [
            {"invoice_number": "I-1", "open_balance": "40.00"},  # part paid
            {"invoice_number": "I-2", "currency": "USD"},  # corrected currency
            {"invoice_number": "I-3", "due_date": days_ago(3)},  # due date moved back
            {"invoice_number": "I-4", "customer_id": "C-3"},  # another customer
            {"invoice_number": "CN-1", "open_balance": "0"},  # the credit used up
            {"invoice_number": "I-6", "open_balance": "60.00"},  # paid, reopened
            {"invoice_number": "I-7", "open_balance": "0"},  # paid
            invoice("I-8", "C-1", 200, "5.00", currency="GBP"),  # new
        ],
    )
    _, by_customer = assert_rollups_right(tenant_a)
    c1 = Customer.objects.get(external_id="C-1").pk
    assert by_customer[c1, "GBP"][:2] == [Decimal("5.00"), Decimal("5.00")]
    assert (c1, "EUR") not in by_customer


def test_a_full_sync_marks_the_missing_invoices_paid_in_the_rollups(tenant_a, customers):
    upsert(tenant_a, MIXED)
    report = upsert(tenant_a, [MIXED[0], MIXED[4]], sync="full")

    assert report.marked_paid == 5  # every open one but the two listed (a credit is not "open")
    open_balances, by_customer = assert_rollups_right(tenant_a)
    assert sum(count for _, count in open_balances.values()) == 2
    assert len(by_customer) == 2


def test_a_dry_run_leaves_the_rollups_alone(tenant_a, customers):
    upsert(tenant_a, MIXED)
    before = stored(tenant_a)
    upsert_invoices(
        tenant=tenant_a,
        records=[RawRecord(2, {"invoice_number": "I-1", "open_balance": "0"})],
        dry_run=True,
    )
    assert stored(tenant_a) == before


def test_invoice_save_and_delete_keep_the_rollups(tenant_a):
    initech = make_customer(tenant_a, "Initech")
    hooli = make_customer(tenant_a, "Hooli")
    rebuild_aging(tenant_a.pk, today=TODAY)
    first = make_invoice(initech, "I-1", due_on=TODAY - datetime.timedelta(days=3))
    make_invoice(initech, "I-2", due_on=TODAY, open_balance="-20.00", currency="EUR")
    make_invoice(hooli, "H-1", due_on=TODAY - datetime.timedelta(days=40), open_balance="55.55")
    assert_rollups_right(tenant_a)

    first.open_balance = Decimal("12.34")
    first.due_on = TODAY + datetime.timedelta(days=1)
    first.save()
    assert_rollups_right(tenant_a)

    first.customer = hooli
    first.save()
    assert_rollups_right(tenant_a)

    first.open_balance = Decimal(0)
    first.save()
    assert first.paid
    assert_rollups_right(tenant_a)

    Invoice.objects.get(number="H-1").delete()
    assert_rollups_right(tenant_a)
    Invoice.objects.filter(number="I-2").delete()
    assert stored(tenant_a) == ({}, {})


def test_deleting_a_customer_takes_its_invoices_out(tenant_a):
    initech = make_customer(tenant_a, "Initech")
    hooli = make_customer(tenant_a, "Hooli")
    rebuild_aging(tenant_a.pk, today=TODAY)
    for number, customer in enumerate([initech, hooli, initech, hooli]):
        make_invoice(customer, f"I-{number}", due_on=TODAY - datetime.timedelta(days=5))
    make_invoice(initech, "I-EUR", due_on=TODAY, currency="EUR")

    initech.delete()

    open_balances, by_customer = assert_rollups_right(tenant_a)
    assert list(open_balances.values()) == [[Decimal("200.00"), 2]]
    assert list(by_customer) == [(hooli.pk, "USD")]


def test_deleting_a_tenant_deletes_its_rollups(tenant_a, tenant_b):
    make_invoice(make_customer(tenant_b, "Globex customer"), "G-1", due_on=TODAY)
    make_invoice(make_customer(tenant_a, "Initech"), "I-1", due_on=TODAY)
    tenant_a.delete()
    assert not OpenBalance.objects.filter(tenant_id=tenant_a.pk).exists()
    assert OpenBalance.objects.filter(tenant=tenant_b).count() == 1
    assert CustomerBalance.objects.filter(tenant=tenant_b).count() == 1


def test_a_renamed_customer_is_renamed_in_the_rollups(tenant_a, customers):
    upsert(tenant_a, MIXED)
    upsert_customers(
        tenant=tenant_a, records=[RawRecord(2, {"customer_id": "C-1", "name": "Zeta"})]
    )
    hooli = Customer.objects.get(external_id="C-2")
    hooli.name = "Hooli"
    hooli.save()
    names = set(CustomerBalance.objects.values_list("customer__external_id", "name"))
    assert names == {("C-1", "Zeta"), ("C-2", "Hooli"), ("C-3", "Customer 3")}


def test_a_rebuild_equals_the_incremental_rollups_and_is_idempotent(tenant_a, tenant_b, customers):
    upsert(tenant_a, MIXED)
    upsert(tenant_a, [{"invoice_number": "I-4", "open_balance": "10.00"}])
    make_invoice(make_customer(tenant_b, "Globex customer"), "G-1", due_on=TODAY)
    incremental = stored(tenant_a)
    other = stored(tenant_b)

    rebuild_aging(tenant_a.pk, today=TODAY)
    assert stored(tenant_a) == incremental
    rebuild_aging(tenant_a.pk, today=TODAY)
    assert stored(tenant_a) == incremental
    assert stored(tenant_b) == other


def test_the_daily_refresh_moves_invoices_that_fall_due_into_overdue(tenant_a, customers):
    upsert(tenant_a, MIXED)
    c2 = Customer.objects.get(external_id="C-2").pk
    assert CustomerBalance.objects.get(customer_id=c2, currency="EUR").overdue_total == 0

    tomorrow = TODAY + datetime.timedelta(days=1)
    assert refresh_overdue(tenant_a.pk, today=tomorrow)
    assert AgingState.objects.get(tenant=tenant_a).overdue_as_of == tomorrow
    assert CustomerBalance.objects.get(customer_id=c2, currency="EUR").overdue_total == Decimal(
        "70.00"
    )
    assert_rollups_right(tenant_a)

    # Six days on, I-3 (due in 5 days) falls due too; a refresh back works as well.
    assert refresh_overdue(tenant_a.pk, today=TODAY + datetime.timedelta(days=6))
    assert_rollups_right(tenant_a)
    assert refresh_overdue(tenant_a.pk, today=TODAY)
    assert_rollups_right(tenant_a)
    assert CustomerBalance.objects.get(customer_id=c2, currency="EUR").overdue_total == 0


def test_the_refresh_reads_only_the_customers_whose_invoices_fell_due(
    tenant_a, customers, django_assert_max_num_queries
):
    upsert(tenant_a, MIXED)
    # Savepoint, lock, state, the customers with invoices due in between, their recompute
    # (delete, sums, upsert), the new date, release.
    with django_assert_max_num_queries(9):
        refresh_overdue(tenant_a.pk, today=TODAY + datetime.timedelta(days=1))
