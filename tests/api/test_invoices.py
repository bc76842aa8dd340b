"""PUT, GET and POST :bulk (with ?sync=full) of invoices."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from tests.api.data import ACME, INVOICE
from tests.page_data import make_customer, make_invoice
from yaypay_mail.models import Invoice

URL = "/api/v1/invoices/"


@pytest.fixture
def acme(api_a):
    assert api_a.put("/api/v1/customers/C-1", ACME).status_code == 201


def test_put_creates_then_updates_an_invoice(api_a, tenant_a, acme):
    created = api_a.put(f"{URL}INV-1", INVOICE)
    assert created.status_code == 201
    assert created.json() == {
        "invoice_number": "INV-1",
        "customer_id": "C-1",
        "issue_date": "2026-10-01",
        "due_date": "2026-10-31",
        "amount": "1234.56",
        "open_balance": "1000.50",
        "currency": "USD",
    }
    invoice = Invoice.objects.get(tenant=tenant_a, number="INV-1")
    assert (invoice.amount, invoice.open_balance, invoice.paid) == (
        Decimal("1234.56"),
        Decimal("1000.50"),
        False,
    )

    paid = api_a.put(f"{URL}INV-1", {"open_balance": 0})
    assert paid.status_code == 200
    assert paid.json() == {**created.json(), "open_balance": "0.00"}
    invoice.refresh_from_db()
    assert invoice.paid and invoice.due_on == datetime.date(2026, 10, 31)


def test_the_same_put_again_is_200_and_unchanged(api_a, acme):
    first = api_a.put(f"{URL}INV-1", INVOICE)
    again = api_a.put(f"{URL}INV-1", INVOICE)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    counts = api_a.post(
        "/api/v1/invoices:bulk", {"items": [{"invoice_number": "INV-1", **INVOICE}]}
    )
    assert counts.json() == {"created": 0, "updated": 0, "unchanged": 1, "marked_paid": 0}


def test_the_paths_invoice_number_wins(api_a, tenant_a, acme):
    response = api_a.put(f"{URL}INV-7", {**INVOICE, "invoice_number": "INV-8"})
    assert response.status_code == 201
    assert response.json()["invoice_number"] == "INV-7"
    assert not Invoice.objects.filter(tenant=tenant_a, number="INV-8").exists()


def test_get_returns_one_invoice_or_404(api_a, acme):
    api_a.put(f"{URL}INV-1", INVOICE)
    assert api_a.get(f"{URL}INV-1").json()["amount"] == "1234.56"
    missing = api_a.get(f"{URL}INV-2")
    assert missing.status_code == 404
    assert missing.json()["errors"] == [
        {"index": 0, "field": "invoice_number", "message": "No invoice with this invoice_number."}
    ]


def test_an_unknown_customer_is_a_field_error(api_a, tenant_a, acme):
    response = api_a.put(f"{URL}INV-1", {**INVOICE, "customer_id": "C-404"})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (0, "customer_id")
    assert not Invoice.objects.filter(tenant=tenant_a).exists()


def test_bulk_is_all_or_nothing(api_a, tenant_a, acme):
    items = [
        {"invoice_number": "INV-1", **INVOICE},
        {"invoice_number": "INV-2", **INVOICE, "due_date": "2026-02-31"},
        {"invoice_number": "INV-3", **INVOICE},
    ]
    response = api_a.post("/api/v1/invoices:bulk", {"items": items})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (1, "due_date")
    assert "not a date" in error["message"]
    assert not Invoice.objects.filter(tenant=tenant_a).exists()


def test_bulk_sync_full_marks_missing_open_invoices_paid(api_a, tenant_a, acme):
    other = make_customer(tenant_a, "Initech", external_id="C-2")
    due = datetime.date(2026, 9, 30)
    make_invoice(other, "OLD-1", due_on=due)
    make_invoice(other, "OLD-2", due_on=due)
    make_invoice(other, "PAID-1", due_on=due, paid=True)
    items = [
        {"invoice_number": "INV-1", **INVOICE},
        {"invoice_number": "OLD-2", "open_balance": "25.00"},
    ]
    response = api_a.post("/api/v1/invoices:bulk?sync=full", {"items": items})
    assert response.status_code == 200
    assert response.json() == {"created": 1, "updated": 1, "unchanged": 0, "marked_paid": 1}
    state = dict(Invoice.objects.filter(tenant=tenant_a).values_list("number", "open_balance"))
    assert state == {
        "INV-1": Decimal("1000.50"),
        "OLD-1": Decimal("0.00"),
        "OLD-2": Decimal("25.00"),
        "PAID-1": Decimal("0.00"),
    }


def test_bulk_without_sync_leaves_missing_invoices_alone(api_a, tenant_a, acme):
    make_invoice(make_customer(tenant_a, "Initech"), "OLD-1", due_on=datetime.date(2026, 9, 30))
    response = api_a.post(
        "/api/v1/invoices:bulk", {"items": [{"invoice_number": "INV-1", **INVOICE}]}
    )
    assert response.json()["marked_paid"] == 0
    assert not Invoice.objects.get(number="OLD-1").paid


def test_sync_full_with_no_items_is_refused(api_a, tenant_a):
    make_invoice(make_customer(tenant_a, "Initech"), "OLD-1", due_on=datetime.date(2026, 9, 30))
    response = api_a.post("/api/v1/invoices:bulk?sync=full", {"items": []})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "items"
    assert not Invoice.objects.get(number="OLD-1").paid


def test_an_unknown_sync_mode_is_refused(api_a):
    response = api_a.post("/api/v1/invoices:bulk?sync=everything", {"items": []})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "sync"
