"""A token opens its own tenant only: another tenant's keys are unknown to it (404), and
the same key written with it is that tenant's own record."""

from __future__ import annotations

import datetime

from outbox.models import OutboundEmail
from tests.api.data import ACME, INVOICE
from tests.page_data import make_customer, make_email, make_invoice
from yaypay_mail.models import Customer, Invoice


def test_tenant_b_cannot_read_tenant_as_records(api_b, tenant_a):
    acme = make_customer(tenant_a, "Acme Industries", external_id="C-1")
    make_invoice(acme, "INV-1", due_on=datetime.date(2026, 10, 31))
    make_email(tenant_a, customer=acme, subject="Invoice INV-1 overdue")

    assert api_b.get("/api/v1/customers/C-1").status_code == 404
    assert api_b.get("/api/v1/invoices/INV-1").status_code == 404
    assert api_b.get("/api/v1/emails").json() == {"items": [], "next_cursor": None}
    assert api_b.get("/api/v1/emails", {"customer_id": "C-1"}).json()["items"] == []


def test_tenant_bs_writes_of_the_same_keys_make_bs_own_records(api_a, api_b, tenant_a, tenant_b):
    assert api_a.put("/api/v1/customers/C-1", ACME).status_code == 201
    assert api_a.put("/api/v1/invoices/INV-1", INVOICE).status_code == 201
    a_customer = Customer.objects.get(tenant=tenant_a, external_id="C-1")
    a_invoice = Invoice.objects.get(tenant=tenant_a, number="INV-1")

    # B's invoice cannot name A's customer: C-1 is not one of B's.
    refused = api_b.put("/api/v1/invoices/INV-1", INVOICE)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "customer_id"

    created = api_b.put("/api/v1/customers/C-1", {**ACME, "name": "Globex's C-1"})
    assert created.status_code == 201
    assert (
        api_b.put(
            "/api/v1/invoices/INV-1", {**INVOICE, "amount": "5.00", "open_balance": "5.00"}
        ).status_code
        == 201
    )
    bulk = api_b.post(
        "/api/v1/invoices:bulk?sync=full", {"items": [{"invoice_number": "INV-2", **INVOICE}]}
    )
    assert bulk.json() == {"created": 1, "updated": 0, "unchanged": 0, "marked_paid": 1}

    b_customer = Customer.objects.get(tenant=tenant_b, external_id="C-1")
    assert b_customer.pk != a_customer.pk and b_customer.name == "Globex's C-1"
    assert Invoice.objects.get(tenant=tenant_b, number="INV-1").customer == b_customer
    # A's records are untouched, sync=full of B included.
    assert Customer.objects.get(pk=a_customer.pk).name == "Acme Industries"
    a_after = Invoice.objects.get(pk=a_invoice.pk)
    assert (a_after.amount, a_after.open_balance, a_after.paid) == (
        a_invoice.amount,
        a_invoice.open_balance,
        False,
    )
    assert api_a.get("/api/v1/customers/C-1").json()["name"] == "Acme Industries"
    assert OutboundEmail.objects.count() == 0
