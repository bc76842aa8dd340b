"""GET /customers/suggest/?q=: the customer filter's type-ahead answers at most ten of
the user's own tenant's customers whose name or customer id starts with q."""

from __future__ import annotations

from django.test import Client

from tests.page_data import make_customer

SUGGEST = "/customers/suggest/"


def names(response) -> list[str]:
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    return [customer["name"] for customer in response.json()["customers"]]


def test_it_offers_customers_whose_name_or_customer_id_starts_with_q(collector_client_a, tenant_a):
    initech = make_customer(tenant_a, "Initech", external_id="C-100")
    make_customer(tenant_a, "Initrode", external_id="C-200")
    make_customer(tenant_a, "Hooli", external_id="INI-7")
    make_customer(tenant_a, "Big Initiative")  # "ini" inside, not at the start

    assert names(collector_client_a.get(SUGGEST, {"q": "ini"})) == ["Hooli", "Initech", "Initrode"]
    response = collector_client_a.get(SUGGEST, {"q": "c-1"})
    assert response.json() == {
        "customers": [{"id": initech.pk, "name": "Initech", "external_id": "C-100"}]
    }
    assert names(collector_client_a.get(SUGGEST, {"q": "  "})) == []


def test_it_answers_at_most_ten_by_name(collector_client_a, tenant_a):
    for n in range(15):
        make_customer(tenant_a, f"Acme {n:02d}")
    assert names(collector_client_a.get(SUGGEST, {"q": "acme"})) == [
        f"Acme {n:02d}" for n in range(10)
    ]


def test_another_tenants_customers_are_never_offered(admin_client_b, tenant_a, tenant_b):
    make_customer(tenant_a, "Initech", external_id="C-100")
    make_customer(tenant_b, "Initial Globex")
    assert names(admin_client_b.get(SUGGEST, {"q": "ini"})) == ["Initial Globex"]
    assert names(admin_client_b.get(SUGGEST, {"q": "C-1"})) == []


def test_anonymous_visitors_get_no_customers(tenant_a):
    make_customer(tenant_a, "Initech")
    response = Client().get(SUGGEST, {"q": "ini"})
    assert response.status_code in (302, 403)
    assert b"Initech" not in response.content


def test_a_long_or_nul_query_is_refused_with_a_message(collector_client_a, tenant_a):
    for q in ("x" * 101, "in\x00i"):
        response = collector_client_a.get(SUGGEST, {"q": q})
        assert response.status_code == 400
        assert "at most 100 characters" in response.json()["error"]


def test_only_get_is_allowed(collector_client_a):
    assert collector_client_a.post(SUGGEST, {"q": "ini"}).status_code == 405
