"""The one upsert behind the CSV import and the API: keys, partial updates, idempotence,
all-or-nothing, full sync, and the field rules."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from yaypay_mail.models import Customer, CustomerChange, Invoice
from yaypay_mail.upserts import Formats, RawRecord, upsert_customers, upsert_invoices


def records(*rows: dict) -> list[RawRecord]:
    return [RawRecord(position=n + 2, values=row) for n, row in enumerate(rows)]


def customers(tenant, *rows, **options):
    return upsert_customers(tenant=tenant, records=records(*rows), **options)


def invoices(tenant, *rows, **options):
    return upsert_invoices(tenant=tenant, records=records(*rows), **options)


ACME = {"customer_id": "C-1", "name": "Initech", "billing_email": "AP@Initech.example"}


def errors(report) -> list[tuple[int, str, str]]:
    return [(e.position, e.field, e.message) for e in report.errors]


def test_customers_are_created_then_unchanged_when_sent_again(tenant_a):
    first = customers(
        tenant_a, ACME, {**ACME, "customer_id": "C-2", "cc_emails": "a@x.example; b@x.example"}
    )
    assert (first.created, first.updated, first.unchanged, first.applied) == (2, 0, 0, True)
    second = customers(
        tenant_a, ACME, {**ACME, "customer_id": "C-2", "cc_emails": "a@x.example, b@x.example"}
    )
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    c2 = Customer.objects.get(tenant=tenant_a, external_id="C-2")
    assert c2.billing_email == "ap@initech.example" and c2.cc_emails == [
        "a@x.example",
        "b@x.example",
    ]
    assert CustomerChange.objects.filter(customer=c2).count() == 1  # created, not "changed" again


def test_an_absent_column_leaves_the_stored_value_and_a_pause_alone(tenant_a, admin_a):
    customers(tenant_a, ACME)
    Customer.objects.filter(external_id="C-1").update(reminders_paused=True, pause_reason="Dispute")
    report = customers(
        tenant_a, {"customer_id": "C-1", "billing_email": "new@initech.example"}, actor=admin_a
    )
    assert report.updated == 1
    customer = Customer.objects.get(external_id="C-1")
    assert (customer.name, customer.billing_email) == ("Initech", "new@initech.example")
    assert customer.reminders_paused and customer.pause_reason == "Dispute"
    change = customer.changes.first()
    assert change.actor == admin_a and change.changes == {
        "billing_email": ["ap@initech.example", "new@initech.example"]
    }
    customers(tenant_a, {"customer_id": "C-1", "reminders_paused": "no"})
    customer.refresh_from_db()
    assert not customer.reminders_paused and customer.pause_reason == ""


def test_one_bad_record_imports_nothing_and_every_error_is_listed(tenant_a):
    report = customers(
        tenant_a,
        ACME,
        {"customer_id": "C-2", "name": "X", "billing_email": "not-an-address"},
        {"customer_id": "C-3", "name": "Line\nbreak", "billing_email": "a@b.example"},
        {"customer_id": "C-1", "name": "Again", "billing_email": "a@b.example"},
        {"customer_id": "C-4", "billing_email": "a@b.example"},
    )
    assert not report.applied and not Customer.objects.exists()
    assert errors(report) == [
        (3, "billing_email", "not-an-address is not a valid email address"),
        (4, "name", "line breaks and control characters are not allowed"),
        (5, "customer_id", "C-1 appears more than once (first at 2)"),
        (6, "name", "is required for a new customer"),
    ]


def test_a_dry_run_counts_and_writes_nothing(tenant_a):
    report = customers(tenant_a, ACME, dry_run=True)
    assert report.created == 1 and not report.applied
    assert not Customer.objects.exists()


@pytest.fixture
def initech(tenant_a):
    customers(tenant_a, ACME)
    return Customer.objects.get(external_id="C-1")


def test_invoices_read_real_export_formats(tenant_a, initech):
    report = invoices(
        tenant_a,
        {
            "invoice_number": "1",
            "customer_id": "C-1",
            "due_date": "03/31/2026",
            "amount": "$1,234.56",
        },
        {
            "invoice_number": "2",
            "customer_id": "C-1",
            "due_date": "04/01/2026",
            "amount": "(120.00)",
        },
        formats=Formats(date_format="mdy"),
    )
    assert report.created == 2, errors(report)
    one, two = Invoice.objects.order_by("number")
    assert (one.due_on, one.amount, one.open_balance, one.currency, one.paid) == (
        datetime.date(2026, 3, 31),
        Decimal("1234.56"),
        Decimal("1234.56"),
        "USD",
        False,
    )
    assert two.open_balance == Decimal("-120.00") and not two.paid  # a credit
    comma = invoices(
        tenant_a,
        {
            "invoice_number": "3",
            "customer_id": "C-1",
            "due_date": "31/03/2026",
            "amount": "1.234,56",
            "currency": "eur",
        },
        formats=Formats(decimal="comma", date_format="dmy"),
    )
    assert comma.created == 1
    assert Invoice.objects.get(number="3").amount == Decimal("1234.56")


def test_a_point_amount_in_a_decimal_comma_file_is_refused_and_iso_dates_always_read(
    tenant_a, initech
):
    report = invoices(
        tenant_a,
        {"invoice_number": "1", "customer_id": "C-1", "due_date": "2026-03-31", "amount": "340.50"},
        {"invoice_number": "2", "customer_id": "C-1", "due_date": "2026-03-31", "amount": "340,50"},
        formats=Formats(decimal="comma", date_format="dmy"),
    )
    # Any invalid row and nothing is written: never 34050 for the first.
    assert not report.applied and not Invoice.objects.exists()
    assert errors(report) == [(2, "amount", "340.50 is not an amount (decimal comma: 1.234,56)")]

    fixed = invoices(
        tenant_a,
        {"invoice_number": "2", "customer_id": "C-1", "due_date": "2026-03-31", "amount": "340,50"},
        formats=Formats(decimal="comma", date_format="dmy"),
    )
    assert fixed.created == 1
    invoice = Invoice.objects.get(number="2")
    assert invoice.amount == Decimal("340.50") and invoice.due_on == datetime.date(2026, 3, 31)


def test_bad_invoice_values_are_named(tenant_a, initech):
    report = invoices(
        tenant_a,
        {"invoice_number": "1", "customer_id": "C-9", "due_date": "2026-03-31", "amount": "10"},
        {"invoice_number": "2", "customer_id": "C-1", "due_date": "31/02/2026", "amount": "10"},
        {
            "invoice_number": "3",
            "customer_id": "C-1",
            "due_date": "2026-03-31",
            "amount": "10",
            "open_balance": "-11",
        },
        {
            "invoice_number": "4",
            "customer_id": "C-1",
            "due_date": "2026-03-31",
            "amount": "10",
            "currency": "XYZ",
        },
        {"invoice_number": "5", "customer_id": "C-1", "due_date": "2026-03-31", "amount": "ten"},
    )
    assert not Invoice.objects.exists()
    assert errors(report) == [
        (2, "customer_id", "C-9 is not a customer of yours (import customers first)"),
        (3, "due_date", "31/02/2026 is not a date (YYYY-MM-DD)"),
        (4, "open_balance", "a credit of -11.00 is larger than the amount 10.00"),
        (5, "currency", "XYZ is not an ISO 4217 currency code"),
        (6, "amount", "ten is not an amount"),
    ]


def test_an_open_balance_of_zero_is_paid_and_full_sync_pays_what_is_missing(tenant_a, initech):
    rows = [
        {
            "invoice_number": f"INV-{n}",
            "customer_id": "C-1",
            "due_date": "2026-01-31",
            "amount": "100",
        }
        for n in range(4)
    ]
    invoices(tenant_a, *rows)
    paid = invoices(tenant_a, {**rows[0], "open_balance": "0"})
    assert paid.updated == 1 and Invoice.objects.get(number="INV-0").paid
    preview = invoices(tenant_a, rows[1], sync="full", dry_run=True)
    assert (preview.marked_paid, preview.marked_paid_numbers) == (2, ["INV-2", "INV-3"])
    assert not Invoice.objects.filter(paid=True).exclude(number="INV-0").exists()
    invoices(tenant_a, rows[1], sync="full")
    assert sorted(Invoice.objects.filter(paid=True).values_list("number", flat=True)) == [
        "INV-0",
        "INV-2",
        "INV-3",
    ]
    assert not Invoice.objects.get(number="INV-1").paid


def test_keys_belong_to_one_tenant(tenant_a, tenant_b, initech):
    customers(tenant_b, {**ACME, "name": "B's own"})
    assert Customer.objects.get(tenant=tenant_a, external_id="C-1").name == "Initech"
    report = invoices(
        tenant_b,
        {"invoice_number": "1", "customer_id": "C-1", "due_date": "2026-03-31", "amount": "5"},
    )
    assert report.created == 1
    assert Invoice.objects.get().customer.tenant == tenant_b


@pytest.mark.django_db(transaction=True)
def test_two_imports_at_once_both_land(tenant_a):
    import threading

    from django.db import connection

    def import_half(start: int, done: list) -> None:
        try:
            rows = [
                {
                    "customer_id": f"C-{n}",
                    "name": f"Customer {n}",
                    "billing_email": f"c{n}@x.example",
                }
                for n in range(start, start + 1500)  # more than one chunk each
            ]
            done.append(customers(tenant_a, *rows).created)
        finally:
            connection.close()

    done: list[int] = []
    threads = [threading.Thread(target=import_half, args=(start, done)) for start in (0, 1000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # They overlap on C-1000..C-1499: one waited for the other, then found them.
    assert sorted(done) == [1000, 1500]
    assert Customer.objects.filter(tenant=tenant_a).count() == 2500


def test_a_full_sync_with_no_invoices_is_refused(tenant_a, initech):
    invoices(
        tenant_a,
        {
            "invoice_number": "INV-1",
            "customer_id": "C-1",
            "due_date": "2026-01-31",
            "amount": "100",
        },
    )
    report = invoices(tenant_a, sync="full")
    assert not report.applied
    assert errors(report) == [(0, "sync", report.errors[0].message)]
    assert "every open invoice would be marked paid" in report.errors[0].message
    assert not Invoice.objects.get(number="INV-1").paid


def test_an_amount_past_12_digits_is_refused_naming_the_limit(tenant_a, initech):
    row = {"invoice_number": "INV-1", "customer_id": "C-1", "due_date": "2026-01-31"}
    report = invoices(
        tenant_a,
        {**row, "amount": "1" * 27},
        {**row, "invoice_number": "INV-2", "amount": "1.000.000.000.000,00"},
        formats=Formats(decimal="point"),
    )
    assert [(e.position, e.field) for e in report.errors] == [(2, "amount"), (3, "amount")]
    assert "at most 12 digits before the decimal point" in report.errors[0].message
    big = invoices(
        tenant_a,
        {**row, "invoice_number": "INV-3", "amount": "1.000.000.000.000,00"},
        formats=Formats(decimal="comma"),
    )
    assert "at most 12 digits before the decimal point" in big.errors[0].message
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    ("due", "ok"),
    [("1900-01-01", True), ("2200-12-31", True), ("1899-12-31", False), ("2201-01-01", False)],
)
def test_invoice_dates_must_fall_between_1900_and_2200(tenant_a, initech, due, ok):
    row = {"invoice_number": "INV-1", "customer_id": "C-1", "due_date": due, "amount": "5"}
    report = invoices(tenant_a, row)
    assert report.applied is ok
    if not ok:
        assert errors(report) == [(2, "due_date", f"{due} is outside the years 1900 to 2200")]


@pytest.mark.parametrize("char", ["\u202a", "\u202e", "\u2066", "\u2069", "\u200b", "\ufeff"])
def test_text_with_invisible_control_characters_is_refused(tenant_a, initech, char):
    report = customers(tenant_a, {**ACME, "customer_id": "C-2", "name": f"Evil{char}Corp"})
    assert [(e.field, f"U+{ord(char):04X}" in e.message) for e in report.errors] == [("name", True)]
    row = {"invoice_number": f"INV{char}1", "customer_id": "C-1", "due_date": "2026-01-31"}
    assert errors(invoices(tenant_a, {**row, "amount": "5"}))[0][1] == "invoice_number"
    assert not Customer.objects.filter(external_id="C-2").exists()
    assert not Invoice.objects.exists()


def test_a_customer_reaches_at_most_max_recipients(tenant_a, settings):
    settings.MAX_RECIPIENTS = 4
    fits = customers(tenant_a, {**ACME, "cc_emails": "a@x.example;b@x.example;c@x.example"})
    assert fits.applied
    report = customers(
        tenant_a, {**ACME, "cc_emails": "a@x.example;b@x.example;c@x.example;d@x.example"}
    )
    assert [(e.field, e.message) for e in report.errors] == [
        (
            "cc_emails",
            "A reminder can have at most 4 addresses in To and Cc together: the billing "
            "email and up to 3 CC addresses (5 given).",
        )
    ]
    assert len(Customer.objects.get(external_id="C-1").cc_emails) == 3
