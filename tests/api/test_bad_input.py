"""What the API refuses in a record, with a 422 in the one error shape and nothing saved:
amounts too large for the columns, dates outside 1900-2200, invisible control
characters in text, more addresses than one message may have, and bodies nested too
deeply."""

from __future__ import annotations

import pytest

from tests.api.data import ACME, INVOICE
from yaypay_mail.models import Customer, Invoice


@pytest.fixture
def customer_c1(api_a):
    assert api_a.put("/api/v1/customers/C-1", ACME).status_code == 201


def only_error(response) -> dict:
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/json"
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize("amount", ["1" * 27, "9" * 40, int("1" * 30), "1000000000000"])
def test_an_amount_past_12_digits_is_a_field_error_naming_the_limit(api_a, customer_c1, amount):
    response = api_a.put("/api/v1/invoices/INV-1", {**INVOICE, "amount": amount})
    error = only_error(response)
    assert error["field"] == "amount"
    assert "at most 12 digits before the decimal point" in error["message"]
    assert not Invoice.objects.exists()


def test_the_largest_amount_is_taken(api_a, customer_c1):
    body = {**INVOICE, "amount": "999999999999.99", "open_balance": "1.00"}
    assert api_a.put("/api/v1/invoices/INV-1", body).status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [("issue_date", "1899-12-31"), ("due_date", "2201-01-01"), ("due_date", "0001-01-01")],
)
def test_a_date_outside_1900_to_2200_is_a_field_error(api_a, customer_c1, field, value):
    error = only_error(api_a.put("/api/v1/invoices/INV-1", {**INVOICE, field: value}))
    assert error["field"] == field
    assert "outside the years 1900 to 2200" in error["message"]
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    "char", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200b", "\u200d", "\ufeff"]
)
def test_a_name_with_an_invisible_control_character_is_refused(api_a, char):
    body = {**ACME, "name": f"Acme{char}Industries"}
    error = only_error(api_a.put("/api/v1/customers/C-1", body))
    assert error["field"] == "name"
    assert f"U+{ord(char):04X}" in error["message"]
    assert "control characters are not allowed" in error["message"]
    assert not Customer.objects.exists()


def test_an_invoice_number_with_a_bidi_override_is_refused_in_a_bulk_request(api_a, customer_c1):
    items = [
        {**INVOICE, "invoice_number": "INV-1"},
        {**INVOICE, "invoice_number": "INV-\u202e2"},
    ]
    error = only_error(api_a.post("/api/v1/invoices:bulk", {"items": items}))
    assert (error["index"], error["field"]) == (1, "invoice_number")
    assert not Invoice.objects.exists()


def addresses(count: int) -> list[str]:
    return [f"cc{n}@acme-industries.example" for n in range(count)]


def test_a_customer_with_more_than_50_recipients_is_refused(api_a):
    body = {**ACME, "cc_emails": addresses(50)}  # 50 CC + the billing email = 51
    error = only_error(api_a.put("/api/v1/customers/C-1", body))
    assert error["field"] == "cc_emails"
    assert "at most 50 addresses in To and Cc together" in error["message"]
    assert not Customer.objects.exists()


def test_10000_cc_addresses_are_refused_in_bulk_and_nothing_is_saved(api_a):
    items = [
        {**ACME, "customer_id": "C-1"},
        {**ACME, "customer_id": "C-2", "cc_emails": ";".join(addresses(10_000))},
    ]
    error = only_error(api_a.post("/api/v1/customers:bulk", {"items": items}))
    assert (error["index"], error["field"]) == (1, "cc_emails")
    assert "at most 50 addresses in To and Cc together" in error["message"]
    assert not Customer.objects.exists()


def test_an_update_that_adds_too_many_cc_leaves_the_customer_alone(api_a, customer_c1):
    error = only_error(api_a.put("/api/v1/customers/C-1", {"cc_emails": addresses(60)}))
    assert error["field"] == "cc_emails"
    assert Customer.objects.get().cc_emails == ACME["cc_emails"]


def test_49_cc_and_the_billing_email_fit(api_a, settings):
    response = api_a.put("/api/v1/customers/C-1", {**ACME, "cc_emails": addresses(49)})
    assert response.status_code == 201
    assert len(Customer.objects.get().cc_emails) == 49


def test_the_limit_follows_max_recipients(api_a, settings):
    settings.MAX_RECIPIENTS = 3
    error = only_error(api_a.put("/api/v1/customers/C-1", {**ACME, "cc_emails": addresses(3)}))
    assert "at most 3 addresses in To and Cc together" in error["message"]


@pytest.mark.parametrize("depth", [33, 5_000, 100_000])
def test_a_deeply_nested_body_is_a_422_in_the_one_shape(api_a, depth):
    body = "[" * depth + "]" * depth
    error = only_error(api_a.put("/api/v1/customers/C-1", body))
    assert error == {
        "index": 0,
        "field": "body",
        "message": "The body is nested too deeply: at most 32 levels of arrays and objects.",
    }


def test_nesting_inside_a_field_is_counted_too(api_a):
    deep = "[" * 40 + "]" * 40
    error = only_error(api_a.put("/api/v1/customers/C-1", f'{{"name": {deep}}}'))
    assert error["field"] == "body"
    assert not Customer.objects.exists()
