"""PUT, GET and POST :bulk of customers, through the upsert service the CSV import uses."""

from __future__ import annotations

from tests.api.data import ACME
from yaypay_mail.models import ChangeSource, Customer, CustomerChange

URL = "/api/v1/customers/"


def test_put_creates_then_updates_a_customer(api_a, tenant_a):
    created = api_a.put(f"{URL}C-1", ACME)
    assert created.status_code == 201
    assert created.json() == {"customer_id": "C-1", **ACME}
    customer = Customer.objects.get(tenant=tenant_a, external_id="C-1")
    assert customer.name == "Acme Industries"
    assert CustomerChange.objects.get(customer=customer).source == ChangeSource.API

    updated = api_a.put(
        f"{URL}C-1", {"reminders_paused": True, "cc_emails": "a@x.example; b@x.example"}
    )
    assert updated.status_code == 200
    assert updated.json() == {
        **created.json(),
        "reminders_paused": True,
        "cc_emails": ["a@x.example", "b@x.example"],
    }
    customer.refresh_from_db()
    # Keys left out of the body keep their stored values.
    assert (customer.name, customer.billing_email) == (
        "Acme Industries",
        "ap@acme-industries.example",
    )
    assert customer.changes.count() == 2


def test_the_same_put_again_is_200_and_unchanged(api_a, tenant_a):
    assert api_a.put(f"{URL}C-1", ACME).status_code == 201
    again = api_a.put(f"{URL}C-1", ACME)
    assert again.status_code == 200
    assert again.json()["name"] == "Acme Industries"
    customer = Customer.objects.get(tenant=tenant_a, external_id="C-1")
    assert customer.changes.count() == 1  # no history row for a no-op
    assert Customer.objects.filter(tenant=tenant_a).count() == 1


def test_the_paths_customer_id_wins_over_the_bodys(api_a, tenant_a):
    response = api_a.put(f"{URL}C-2", {**ACME, "customer_id": "C-999"})
    assert response.status_code == 201
    assert response.json()["customer_id"] == "C-2"
    assert list(Customer.objects.filter(tenant=tenant_a).values_list("external_id", flat=True)) == [
        "C-2"
    ]


def test_a_customer_id_may_hold_a_slash(api_a):
    assert api_a.put(f"{URL}ACME/EU", ACME).status_code == 201
    assert api_a.get(f"{URL}ACME%2FEU").json()["customer_id"] == "ACME/EU"


def test_get_returns_one_customer_or_404(api_a):
    api_a.put(f"{URL}C-1", ACME)
    response = api_a.get(f"{URL}C-1")
    assert response.status_code == 200
    assert response.json() == {"customer_id": "C-1", **ACME}
    missing = api_a.get(f"{URL}C-404")
    assert missing.status_code == 404
    assert missing.json() == {
        "errors": [
            {"index": 0, "field": "customer_id", "message": "No customer with this customer_id."}
        ]
    }


def test_invalid_values_answer_422_with_the_services_errors(api_a, tenant_a):
    response = api_a.put(f"{URL}C-1", {"name": "Acme", "billing_email": "not an address"})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (0, "billing_email")
    assert "not a valid email address" in error["message"]
    missing = api_a.put(f"{URL}C-1", {"name": "Acme"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "billing_email"
    assert not Customer.objects.filter(tenant=tenant_a).exists()


def test_bulk_upserts_and_counts(api_a, tenant_a):
    api_a.put(f"{URL}C-1", ACME)
    api_a.put(f"{URL}C-2", {**ACME, "name": "Second"})
    items = [
        {"customer_id": "C-1", **ACME},  # unchanged
        {"customer_id": "C-2", "name": "Second, renamed"},  # updated
        {"customer_id": "C-3", "name": "Third", "billing_email": "ap@third.example"},  # created
    ]
    response = api_a.post("/api/v1/customers:bulk", {"items": items})
    assert response.status_code == 200
    assert response.json() == {"created": 1, "updated": 1, "unchanged": 1, "marked_paid": 0}
    assert Customer.objects.get(tenant=tenant_a, external_id="C-2").name == "Second, renamed"
    assert Customer.objects.filter(tenant=tenant_a).count() == 3


def test_bulk_is_all_or_nothing_with_each_errors_index(api_a, tenant_a):
    items = [
        {"customer_id": "C-1", **ACME},
        {"customer_id": "C-2", "name": "Two", "billing_email": "ap@two.example"},
        {"customer_id": "C-3", "name": "Three", "billing_email": "nope"},
        {
            "customer_id": "C-4",
            "name": "Four",
            "billing_email": "ap@four.example",
            "reminders_paused": "maybe",
        },
    ]
    response = api_a.post("/api/v1/customers:bulk", {"items": items})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [
        (2, "billing_email"),
        (3, "reminders_paused"),
    ]
    assert not Customer.objects.filter(tenant=tenant_a).exists()
    assert not CustomerChange.objects.filter(tenant=tenant_a).exists()


def test_more_than_1000_items_are_refused(api_a, tenant_a):
    items = [
        {"customer_id": f"C-{i}", "name": "N", "billing_email": "a@b.example"} for i in range(1001)
    ]
    response = api_a.post("/api/v1/customers:bulk", {"items": items})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (0, "items")
    assert "1000" in error["message"]
    assert not Customer.objects.filter(tenant=tenant_a).exists()


def test_exactly_1000_items_are_fine(api_a, tenant_a):
    items = [
        {"customer_id": f"C-{i}", "name": "N", "billing_email": "a@b.example"} for i in range(1000)
    ]
    response = api_a.post("/api/v1/customers:bulk", {"items": items})
    assert response.status_code == 200
    assert response.json()["created"] == 1000
