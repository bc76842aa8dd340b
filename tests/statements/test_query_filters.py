"""Statement, Dashboard and Aging Report query strings: bad values get a 400 with a message
and run no query; Resend forms carry back only known parameters, however long the URL."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outbox.models import Kind, OutboundEmail, Status
from tests.page_data import make_customer, make_email, make_invoice
from tests.resend_forms import JUNK, query_of, resend_next_values
from yaypay_mail.models import Invoice


@pytest.fixture
def initech(tenant_a):
    return make_customer(tenant_a, "Initech")


def statement(customer) -> str:
    return f"/customers/{customer.pk}/"


def refused(client, url, params) -> str:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 400
    assert not [q for q in queries if OutboundEmail._meta.db_table in q["sql"]]
    assert not [q for q in queries if Invoice._meta.db_table in q["sql"]]
    return response.content.decode()


@pytest.mark.parametrize(
    "params,message",
    [
        ({"tab": "emails\x00"}, "Tab: It contains a NUL character, which is not allowed."),
        (
            {"tab": "emails", "page": "\x00"},
            "Page: It contains a NUL character, which is not allowed.",
        ),
        ({"tab": "e" * 201}, "Tab: It is too long (at most 200 characters)."),
        ({"tab": "emails", "page": "9" * 201}, "Page: It is too long (at most 200 characters)."),
        ({"tab": "payments"}, "Tab: Choose the Invoices or Emails tab."),
        ({"tab": "emails", "page": "0"}, "Page: It must be a page number."),
    ],
)
def test_a_bad_tab_or_page_is_refused_with_a_message(collector_client_a, initech, params, message):
    make_email(initech.tenant, customer=initech, status=Status.ERROR, subject="Invoice 9 overdue")
    make_invoice(initech, "INV-9", due_on=datetime.date(2026, 1, 1))
    page = refused(collector_client_a, statement(initech), params)
    assert "<h1>Initech</h1>" in page
    assert 'role="alert" id="filter-errors"' in page
    assert message in page
    assert "Invoice 9 overdue" not in page and "INV-9" not in page


def test_another_tenants_customer_answers_404_before_the_filters(admin_client_b, initech):
    assert admin_client_b.get(statement(initech), {"tab": "\x00"}).status_code == 404


def test_the_emails_tab_with_junk_stays_small_and_resend_returns_to_the_tab(
    collector_client_a, tenant_a, initech
):
    failures = [
        make_email(tenant_a, customer=initech, status=Status.ERROR, subject=f"Invoice {n}")
        for n in range(3)
    ]
    plain = collector_client_a.get(statement(initech), {"tab": "emails"}).content.decode()
    response = collector_client_a.get(statement(initech), {"tab": "emails", **JUNK})
    assert response.status_code == 200
    page = response.content.decode()
    assert len(page) < 2 * len(plain)
    assert "xxxxxxxxxx" not in page
    assert resend_next_values(page) == [f"/customers/{initech.pk}/?tab=emails"] * 3

    response = collector_client_a.post(
        f"/communications/{failures[0].pk}/resend/",
        {"next": resend_next_values(page)[0]},
        follow=True,
    )
    assert response.redirect_chain == [(f"/customers/{initech.pk}/?tab=emails", 302)]
    assert "Queued to send again." in response.content.decode()


def test_a_later_emails_page_keeps_tab_and_cursor_only(collector_client_a, tenant_a, initech):
    for number in range(51):
        make_email(tenant_a, customer=initech, status=Status.ERROR, subject=f"Bulk {number}")
    first = collector_client_a.get(statement(initech), {"tab": "emails", **JUNK})
    next_cursor = first.context["page"].next_cursor
    assert f'<a href="?tab=emails&amp;cursor={next_cursor}" rel="next">Next</a>' in (
        first.content.decode()
    )
    response = collector_client_a.get(
        statement(initech), {"tab": "emails", "cursor": next_cursor, **JUNK}
    )
    page = response.content.decode()
    (next_url,) = resend_next_values(page)
    assert query_of(next_url) == {"tab": "emails", "cursor": next_cursor}
    previous = response.context["page"].previous_cursor
    assert f'<a href="?tab=emails&amp;cursor={previous}" rel="prev">Previous</a>' in page
    assert "xxxxxxxxxx" not in page


def test_the_dashboard_with_junk_stays_small_and_resend_returns_to_it(collector_client_a, tenant_a):
    for number in range(3):
        make_email(tenant_a, status=Status.ERROR, subject=f"Invoice {number}")
    plain = collector_client_a.get("/").content.decode()
    page = collector_client_a.get("/", JUNK).content.decode()
    assert len(page) < 2 * len(plain)
    assert resend_next_values(page) == ["/"] * 3


def test_the_aging_report_with_junk_stays_small_and_resend_returns_to_it(
    collector_client_a, tenant_a
):
    for name in ("Initech", "Hooli", "Umbrella"):
        customer = make_customer(tenant_a, name)
        make_invoice(customer, f"{name}-1", due_on=datetime.date(2026, 1, 1))
        make_email(tenant_a, customer=customer, kind=Kind.REMINDER, status=Status.ERROR)
    plain = collector_client_a.get("/reports/aging/").content.decode()
    page = collector_client_a.get("/reports/aging/", JUNK).content.decode()
    assert len(page) < 2 * len(plain)
    assert resend_next_values(page) == ["/reports/aging/"] * 3
