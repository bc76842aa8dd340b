"""Amounts, numbers and dates written the tenant's way (ReminderSettings.locale) on the
Dashboard, the Aging Report, the Statement and Customers; the Aging CSV stays
machine-readable."""

from __future__ import annotations

import datetime

import pytest
from django.test import RequestFactory

from communications.context_processors import tenant_time_zone
from dunning.models import ReminderSettings
from tests.page_data import make_customer, make_invoice

NBSP = "\xa0"
DE_AMOUNT = f"1.234,56{NBSP}€"


def today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def set_locale(tenant, locale: str) -> None:
    ReminderSettings.objects.update_or_create(tenant=tenant, defaults={"locale": locale})


@pytest.fixture
def initech(tenant_a):
    customer = make_customer(tenant_a, "Initech")
    make_invoice(
        customer, "INV-1", due_on=today() - datetime.timedelta(days=45), open_balance="1234.56"
    )
    make_invoice(
        customer,
        "INV-2",
        due_on=today() - datetime.timedelta(days=45),
        open_balance="1234.56",
        currency="EUR",
    )
    return customer


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


PAGES = ["/", "/reports/aging/?currency=EUR", "/customers/", "/customers/{pk}/"]


@pytest.mark.parametrize("url", PAGES)
def test_a_german_tenant_sees_german_amounts(collector_client_a, tenant_a, initech, url):
    set_locale(tenant_a, "de_DE")
    page = page_of(collector_client_a, url.format(pk=initech.pk))
    assert DE_AMOUNT in page
    assert "1234.56" not in page and "€1,234.56" not in page


@pytest.mark.parametrize("url", PAGES)
def test_an_american_tenant_sees_american_amounts(collector_client_a, initech, url):
    page = page_of(collector_client_a, url.format(pk=initech.pk).replace("EUR", "USD"))
    assert "$1,234.56" in page
    assert "1234.56" not in page


def test_the_statements_dates_and_days_follow_the_locale(collector_client_a, tenant_a, initech):
    due = today() - datetime.timedelta(days=45)
    set_locale(tenant_a, "de_DE")
    page = page_of(collector_client_a, f"/customers/{initech.pk}/")
    assert f'<td data-label="Due">{due:%d.%m.%Y}</td>' in page
    set_locale(tenant_a, "en_US")
    page = page_of(collector_client_a, f"/customers/{initech.pk}/")
    assert f'<td data-label="Due">{due:%b} {due.day}, {due.year}</td>' in page


def test_the_aging_csv_keeps_plain_numbers_for_a_german_tenant(
    collector_client_a, tenant_a, initech
):
    set_locale(tenant_a, "de_DE")
    response = collector_client_a.get("/reports/aging/export.csv", {"currency": "EUR"})
    body = b"".join(response.streaming_content).decode()
    assert "1234.56" in body
    assert "1.234,56" not in body and "€" not in body


def test_the_context_processor_gives_the_tenants_locale_lazily(tenant_a, django_assert_num_queries):
    set_locale(tenant_a, "de_DE")
    request = RequestFactory().get("/")
    request.tenant = tenant_a
    with django_assert_num_queries(0):
        context = tenant_time_zone(request)
    with django_assert_num_queries(1):
        assert context["tenant_locale"]() == "de_DE"
        assert context["tenant_locale"]() == "de_DE"  # read once a request
    assert tenant_time_zone(RequestFactory().get("/")) == {}
