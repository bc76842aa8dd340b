"""A customer's Statement page: details, open invoices, and the EMAILS tab."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from outbox.models import Status
from tests.page_data import make_customer, make_email, make_invoice
from yaypay_mail.models import Tenant

# 20:00 UTC on 10 March is already 11 March in Auckland (UTC+13).
NOW = datetime.datetime(2026, 3, 10, 20, 0, tzinfo=datetime.UTC)
TODAY_UTC = datetime.date(2026, 3, 10)


@pytest.fixture
def initech(tenant_a):
    return make_customer(
        tenant_a,
        "Initech",
        billing_email="ap@initech.example",
        cc_emails=["cfo@initech.example", "ar@initech.example"],
        reminders_paused=True,
    )


def url(customer, tab: str = "") -> str:
    return f"/customers/{customer.pk}/" + (f"?tab={tab}" if tab else "")


def text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_an_anonymous_visitor_is_sent_to_the_login(initech):
    for tab in ("", "emails"):
        response = Client().get(url(initech, tab))
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")


def test_another_tenants_admin_gets_404_on_both_tabs(admin_client_b, initech):
    assert admin_client_b.get(url(initech)).status_code == 404
    assert admin_client_b.get(url(initech, "emails")).status_code == 404


def test_an_unknown_customer_id_answers_404(admin_client_a):
    assert admin_client_a.get("/customers/999999/").status_code == 404


def test_a_collector_sees_the_customer_details_and_both_tabs(collector_client_a, initech):
    page = text(collector_client_a.get(url(initech)))
    assert "<h1>Initech</h1>" in page
    assert "ap@initech.example" in page
    assert "cfo@initech.example, ar@initech.example" in page
    assert "Paused" in page
    assert f'href="/customers/{initech.pk}/"' in page
    assert f'href="/customers/{initech.pk}/?tab=emails"' in page


def test_the_invoices_tab_lists_open_invoices_with_days_overdue_and_totals_per_currency(
    collector_client_a, initech
):
    make_invoice(
        initech, "INV-1", due_on=TODAY_UTC - datetime.timedelta(days=40), open_balance="100.50"
    )
    make_invoice(
        initech, "INV-2", due_on=TODAY_UTC + datetime.timedelta(days=5), open_balance="20.25"
    )
    make_invoice(
        initech,
        "INV-3",
        due_on=TODAY_UTC - datetime.timedelta(days=3),
        currency="EUR",
        open_balance="70.00",
    )
    make_invoice(initech, "INV-PAID", due_on=TODAY_UTC - datetime.timedelta(days=90), paid=True)

    with time_machine.travel(NOW, tick=False):
        response = collector_client_a.get(url(initech))
    page = text(response)

    rows = {invoice.number: invoice.overdue_days for invoice in response.context["invoices"]}
    assert rows == {"INV-1": 40, "INV-3": 3, "INV-2": 0}
    assert "INV-PAID" not in page
    assert '<td data-label="Due">Jan 29, 2026</td>' in page  # INV-1's due date
    assert response.context["totals"] == {"EUR": Decimal("70.00"), "USD": Decimal("120.75")}
    total = '<td colspan="4">Total {}</td><td class="num" data-label="Open balance">{}</td>'
    assert total.format("USD", "$120.75") in page
    assert total.format("EUR", "€70.00") in page


def test_days_overdue_count_from_the_tenants_local_date(collector_client_a, tenant_a, initech):
    Tenant.objects.filter(pk=tenant_a.pk).update(time_zone="Pacific/Auckland")
    make_invoice(initech, "INV-1", due_on=TODAY_UTC)

    with time_machine.travel(NOW, tick=False):
        response = collector_client_a.get(url(initech))

    (invoice,) = response.context["invoices"]
    assert invoice.overdue_days == 1
    assert "as of Mar 11, 2026" in text(response)


def test_the_emails_tab_lists_only_this_customers_emails_with_the_error_reason(
    collector_client_a, tenant_a, initech
):
    failed = make_email(
        tenant_a, customer=initech, status=Status.ERROR, subject="Invoice INV-1 overdue"
    )
    make_email(tenant_a, customer=initech, status=Status.SENT, subject="Invoice INV-0 overdue")
    other = make_customer(tenant_a, "Hooli")
    make_email(tenant_a, customer=other, subject="Hooli reminder")

    page = text(collector_client_a.get(url(initech, "emails")))

    assert "Invoice INV-1 overdue" in page and "Invoice INV-0 overdue" in page
    assert "Hooli reminder" not in page
    assert ">Error<" in page and ">Sent<" in page
    assert "The mail server refused the username or password." in page
    assert page.count(">Resend</button>") == 1
    assert f'action="/communications/{failed.pk}/resend/"' in page
    assert f'name="next" value="/customers/{initech.pk}/?tab=emails"' in page


def test_resend_from_the_emails_tab_comes_back_to_it(collector_client_a, tenant_a, initech):
    failed = make_email(tenant_a, customer=initech, status=Status.ERROR)
    response = collector_client_a.post(
        f"/communications/{failed.pk}/resend/", {"next": url(initech, "emails")}, follow=True
    )
    assert response.redirect_chain == [(url(initech, "emails"), 302)]
    assert "Queued to send again." in text(response)
    failed.refresh_from_db()
    assert failed.status == Status.QUEUED


def test_a_credit_note_shows_as_a_credit_without_days_overdue_and_nets_into_the_total(
    collector_client_a, initech
):
    make_invoice(
        initech, "INV-1", due_on=TODAY_UTC - datetime.timedelta(days=40), open_balance="1200.00"
    )
    make_invoice(
        initech, "CR-1", due_on=TODAY_UTC - datetime.timedelta(days=25), open_balance="-120.00"
    )

    with time_machine.travel(NOW, tick=False):
        page = text(collector_client_a.get(url(initech)))

    rows = re.findall(r'<tr class="invoice-row[^"]*">(.*?)</tr>', page, re.S)
    cells = {
        re.search(r'data-label="Number">([^<]+)<', row).group(1): re.search(
            r'data-label="Days overdue">([^<]*)<', row
        ).group(1)
        for row in rows
    }
    assert cells == {"INV-1": "40", "CR-1": "Credit"}
    assert "-$120.00" in page
    total = '<td colspan="4">Total USD</td><td class="num" data-label="Open balance">$1,080.00</td>'
    assert total in page
