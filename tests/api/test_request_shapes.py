"""Bodies that are not JSON, or not the right shape, answer 422 in the one error shape."""

from __future__ import annotations

import pytest

from yaypay_mail.models import Customer


def _single_error(response) -> dict:
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"errors"}
    [error] = body["errors"]
    assert set(error) == {"index", "field", "message"}
    return error


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "body"),
        ('{"name": NaN}', "body"),
        ("", "body"),
        ("[]", "body"),
        ('"a string"', "body"),
        ('{"name": "Acme", "nickname": "A"}', "nickname"),
    ],
)
def test_put_bodies_of_the_wrong_shape(api_a, tenant_a, body, field):
    error = _single_error(api_a.put("/api/v1/customers/C-1", body))
    assert (error["index"], error["field"]) == (0, field)
    assert not Customer.objects.filter(tenant=tenant_a).exists()


def test_unknown_fields_are_named(api_a):
    error = _single_error(api_a.put("/api/v1/invoices/INV-1", {"amount": "1", "amout": "2"}))
    assert error == {"index": 0, "field": "amout", "message": "is not a known field"}


def test_invalid_utf8_is_refused(api_a):
    response = api_a.client.put(
        "/api/v1/customers/C-1", b'{"name": "\xff"}', "application/json", headers=api_a.headers
    )
    assert _single_error(response)["field"] == "body"


@pytest.mark.parametrize(
    ("body", "index", "field"),
    [
        ({}, 0, "items"),
        ({"items": {}}, 0, "items"),
        ({"items": [{"customer_id": "C-1"}, "C-2"]}, 1, "item"),
        ({"items": [{"customer_id": "C-1"}, {"customer_id": "C-2", "colour": "red"}]}, 1, "colour"),
        ({"items": [], "extra": 1}, 0, "extra"),
    ],
)
def test_bulk_bodies_of_the_wrong_shape(api_a, body, index, field):
    error = _single_error(api_a.post("/api/v1/customers:bulk", body))
    assert (error["index"], error["field"]) == (index, field)


def test_a_control_character_in_a_key_is_refused(api_a, tenant_a):
    error = _single_error(
        api_a.put("/api/v1/customers/C%001", {"name": "Acme", "billing_email": "a@b.example"})
    )
    assert error["field"] == "customer_id"
    assert _single_error(api_a.get("/api/v1/customers/C%001"))["field"] == "customer_id"
    assert _single_error(api_a.get("/api/v1/invoices/" + "9" * 51))["field"] == "invoice_number"
    assert not Customer.objects.filter(tenant=tenant_a).exists()


def test_a_trailing_slash_is_not_the_endpoint(api_a):
    # Paths are exactly as documented; the slash form is an unknown customer, not a redirect.
    api_a.put("/api/v1/customers/C-1", {"name": "Acme", "billing_email": "a@b.example"})
    assert api_a.get("/api/v1/customers/C-1/").status_code == 404


def test_a_body_over_djangos_limit_is_413(api_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    items = [
        {"customer_id": f"C-{i}", "name": "N", "billing_email": "a@b.example"} for i in range(50)
    ]
    response = api_a.post("/api/v1/customers:bulk", {"items": items})
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "body"
