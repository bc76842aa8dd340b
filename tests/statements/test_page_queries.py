"""Every collector page runs a fixed number of queries, whatever the tenant holds: a query
per row (an N+1) would show here as a count that grows with the rows. Each page is fetched
once to warm per-process caches, then counted with few rows and with many. (The
Communications list and the EMAILS tab are counted in
tests/communications/test_keyset_paging.py; the Dashboard and the Aging Report beside
their rollups.)"""

from __future__ import annotations

import datetime

import pytest

from outbox.models import Kind, Status
from tests.page_data import make_customer, make_email, make_invoice

TODAY = datetime.date.today()


def customers_with_history(tenant, count: int, *, start: int = 0):
    made = []
    for number in range(start, start + count):
        customer = make_customer(tenant, f"Customer {number:03d}")
        for currency in ("USD", "EUR"):
            make_invoice(
                customer,
                f"INV-{number}-{currency}",
                due_on=TODAY - datetime.timedelta(days=number % 100),
                currency=currency,
            )
        make_email(tenant, customer=customer, kind=Kind.REMINDER, reminder_date=TODAY)
        made.append(customer)
    return made


def queries_for(client, url, django_assert_max_num_queries, limit, **params):
    client.get(url, params)
    with django_assert_max_num_queries(limit) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured.captured_queries)


# Measured: session, user, membership + tenant, the customers page, their balances, their
# last reminders, the reminder settings (the locale and time zone the page writes in).
CUSTOMER_LIST_QUERIES = 7


@pytest.mark.parametrize("params", [{}, {"q": "Customer"}, {"paused": "0"}])
def test_the_customer_list_costs_the_same_for_5_and_60_customers(
    collector_client_a, tenant_a, django_assert_max_num_queries, params
):
    customers_with_history(tenant_a, 5)
    few = queries_for(
        collector_client_a,
        "/customers/",
        django_assert_max_num_queries,
        CUSTOMER_LIST_QUERIES,
        **params,
    )
    customers_with_history(tenant_a, 55, start=5)
    many = queries_for(
        collector_client_a,
        "/customers/",
        django_assert_max_num_queries,
        CUSTOMER_LIST_QUERIES,
        **params,
    )
    assert few == many


# Measured: session, user, membership + tenant, the customer, its history, the reminder
# settings (once: the time zone, today in it and the locale), its open invoices, their totals.
STATEMENT_QUERIES = 8


def test_the_statement_costs_the_same_for_2_and_60_open_invoices(
    collector_client_a, tenant_a, django_assert_max_num_queries
):
    customer = make_customer(tenant_a, "Initech")
    for number in range(2):
        make_invoice(customer, f"A-{number}", due_on=TODAY - datetime.timedelta(days=number))
    url = f"/customers/{customer.pk}/"
    few = queries_for(collector_client_a, url, django_assert_max_num_queries, STATEMENT_QUERIES)
    for number in range(58):
        make_invoice(
            customer, f"B-{number}", due_on=TODAY - datetime.timedelta(days=number), currency="EUR"
        )
    many = queries_for(collector_client_a, url, django_assert_max_num_queries, STATEMENT_QUERIES)
    assert few == many


# Measured: session, user, membership + tenant, the email, the reminder settings (time
# zone), its customer, its attempts.
EMAIL_DETAIL_QUERIES = 7


def test_an_email_detail_costs_the_same_with_1_and_20_attempts(
    collector_client_a, tenant_a, django_assert_max_num_queries
):
    from django.utils import timezone

    from outbox.models import DeliveryAttempt, Outcome

    customer = make_customer(tenant_a, "Initech")
    email = make_email(tenant_a, customer=customer, status=Status.ERROR)
    url = f"/communications/{email.pk}/"

    def attempts(count):
        for _ in range(count):
            DeliveryAttempt.objects.create(
                tenant=tenant_a,
                email=email,
                at=timezone.now(),
                outcome=Outcome.RETRY,
                stage="rcpt",
                smtp_code=451,
                reply="4.3.0 try later",
            )

    attempts(1)
    few = queries_for(collector_client_a, url, django_assert_max_num_queries, EMAIL_DETAIL_QUERIES)
    attempts(19)
    many = queries_for(collector_client_a, url, django_assert_max_num_queries, EMAIL_DETAIL_QUERIES)
    assert few == many
