"""The Aging Report: open balances by days overdue, and each customer's last reminder."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from communications.models import Kind, ReminderSettings, Status
from tests.page_data import make_customer, make_email, make_invoice

URL = "/reports/aging/"
NOW = datetime.datetime(2026, 3, 10, 20, 0, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 3, 10)


def days_ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


def report(client):
    with time_machine.travel(NOW, tick=False):
        response = client.get(URL)
    assert response.status_code == 200
    return response.context["report"], response.content.decode()


def amounts(*values) -> list[Decimal]:
    return [Decimal(value) for value in values]


def test_an_anonymous_visitor_is_sent_to_the_login(db):
    response = Client().get(URL)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_balances_fall_into_buckets_by_days_overdue(collector_client_a, tenant_a):
    initech = make_customer(tenant_a, "Initech")
    for number, (days, balance) in enumerate(
        [
            (-5, "1"),
            (0, "2"),
            (1, "10"),
            (30, "20"),
            (31, "100"),
            (60, "200"),
            (61, "1000"),
            (90, "2000"),
            (91, "10000"),
            (400, "20000"),
        ]
    ):
        make_invoice(initech, f"INV-{number}", due_on=days_ago(days), open_balance=balance)
    make_invoice(initech, "INV-PAID", due_on=days_ago(45), open_balance="5", paid=True)

    data, page = report(collector_client_a)

    (row,) = data.customers
    (line,) = row.lines
    assert line.currency == "USD"
    assert line.buckets == amounts("3", "30", "300", "3000", "30000")
    assert line.total == Decimal("33333")
    assert '<td class="num">30000.00</td>' in page
    assert '<td class="num">33333.00</td>' in page
    for label in ("Current", "1-30", "31-60", "61-90", "90+"):
        assert f'<th class="num">{label}</th>' in page
    assert f'href="/customers/{initech.pk}/"' in page


def test_each_currency_has_its_own_line_and_totals_row(collector_client_a, tenant_a):
    initech = make_customer(tenant_a, "Initech")
    hooli = make_customer(tenant_a, "Hooli")
    make_invoice(initech, "I-1", due_on=days_ago(10), open_balance="100.00")
    make_invoice(initech, "I-2", due_on=days_ago(70), open_balance="50.00", currency="EUR")
    make_invoice(hooli, "H-1", due_on=days_ago(-3), open_balance="25.00")

    data, page = report(collector_client_a)

    assert [(row.name, [line.currency for line in row.lines]) for row in data.customers] == [
        ("Hooli", ["USD"]),
        ("Initech", ["EUR", "USD"]),
    ]
    totals = {line.currency: (line.buckets, line.total) for line in data.totals}
    assert totals == {
        "EUR": (amounts("0", "0", "0", "50", "0"), Decimal("50")),
        "USD": (amounts("25", "100", "0", "0", "0"), Decimal("125")),
    }
    assert page.count('<tr class="totals"') == 2


def test_today_is_the_tenants_local_date(collector_client_a, tenant_a):
    ReminderSettings.objects.create(tenant=tenant_a, time_zone="Pacific/Auckland")
    initech = make_customer(tenant_a, "Initech")
    make_invoice(initech, "I-1", due_on=TODAY)  # already a day overdue in Auckland

    data, _ = report(collector_client_a)

    assert data.today == datetime.date(2026, 3, 11)
    assert data.customers[0].lines[0].buckets == amounts("0", "100", "0", "0", "0")


def test_the_report_shows_only_the_tenants_own_customers(collector_client_a, tenant_a, tenant_b):
    make_invoice(make_customer(tenant_a, "Initech"), "I-1", due_on=days_ago(3))
    make_invoice(make_customer(tenant_b, "Globex Customer"), "G-1", due_on=days_ago(3))

    data, page = report(collector_client_a)

    assert [row.name for row in data.customers] == ["Initech"]
    assert "Globex Customer" not in page


@pytest.mark.parametrize(
    "status,shown",
    [(Status.SENT, ">Sent<"), (Status.QUEUED, ">Queued<"), (Status.ERROR, ">Error<")],
)
def test_the_last_reminders_status_is_shown(collector_client_a, tenant_a, status, shown):
    initech = make_customer(tenant_a, "Initech")
    make_invoice(initech, "I-1", due_on=days_ago(3))
    make_email(
        tenant_a,
        customer=initech,
        kind=Kind.REMINDER,
        status=Status.SENT,
        created_at=NOW - datetime.timedelta(days=8),
    )
    last = make_email(
        tenant_a,
        customer=initech,
        kind=Kind.REMINDER,
        status=status,
        created_at=NOW - datetime.timedelta(days=1),
    )
    make_email(tenant_a, customer=initech, kind=Kind.MANUAL, status=Status.CANCELLED)

    data, page = report(collector_client_a)

    assert data.customers[0].last_reminder == last
    assert shown in page
    assert ">Cancelled<" not in page  # a manual email is not a reminder


def test_an_error_reminder_shows_its_reason_and_a_resend_button(collector_client_a, tenant_a):
    initech = make_customer(tenant_a, "Initech")
    make_invoice(initech, "I-1", due_on=days_ago(3))
    failed = make_email(tenant_a, customer=initech, kind=Kind.REMINDER, status=Status.ERROR)

    _, page = report(collector_client_a)

    assert "The mail server refused the username or password." in page
    assert f'action="/communications/{failed.pk}/resend/"' in page
    assert 'name="next" value="/reports/aging/"' in page


def test_a_customer_never_reminded_shows_none(collector_client_a, tenant_a):
    make_invoice(make_customer(tenant_a, "Initech"), "I-1", due_on=days_ago(3))

    data, page = report(collector_client_a)

    assert data.customers[0].last_reminder is None
    assert re.search(r'class="last-reminder">\s*None\s*</td>', page)
