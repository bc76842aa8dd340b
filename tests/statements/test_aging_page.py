"""The Aging Report (/reports/aging/) and its CSV (/reports/aging/export.csv): open balances
by days overdue, one currency and 50 customers a page, each customer's last reminder."""

from __future__ import annotations

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from outbox.models import Kind, Status
from statements.aging_forms import SORTS
from tests.page_data import make_customer, make_email, make_invoice
from yaypay_mail.models import CustomerBalance, Invoice, OpenBalance, Tenant

URL = "/reports/aging/"
EXPORT = "/reports/aging/export.csv"
NOW = datetime.datetime(2026, 3, 10, 20, 0, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 3, 10)


def days_ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


def get(client, url=URL, **params):
    with time_machine.travel(NOW, tick=False):
        return client.get(url, params)


def report(client, **params):
    response = get(client, **params)
    assert response.status_code == 200
    return response.context["report"], response.content.decode()


def every_page(client, **params) -> list:
    """Every row, following the Next links from the first page."""
    rows, seen_cursors = [], set()
    while True:
        data, _ = report(client, **params)
        rows.extend(data.rows)
        if data.next_cursor is None:
            return rows
        assert data.next_cursor not in seen_cursors
        seen_cursors.add(data.next_cursor)
        params = {**params, "cursor": data.next_cursor, "currency": data.currency}


def export(client, **params) -> list[list[str]]:
    response = get(client, EXPORT, **params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def amounts(*values) -> list[Decimal]:
    return [Decimal(value) for value in values]


def test_an_anonymous_visitor_is_sent_to_the_login(db):
    for url in (URL, EXPORT):
        response = Client().get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")


# --- buckets, totals, currencies --------------------------------------------------------


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

    (row,) = data.rows
    assert row.currency == "USD"
    assert row.buckets == amounts("3", "30", "300", "3000", "30000")
    assert row.total == Decimal("33333")
    assert row.overdue == Decimal("33330")
    # The totals row, from the rollup, buckets the same way.
    assert data.totals.buckets == row.buckets
    assert data.totals.total == Decimal("33333")
    assert '<td class="num" data-label="90+">$30,000.00</td>' in page
    assert '<td class="num" data-label="Total">$33,333.00</td>' in page
    for label in ("Current", "1-30", "31-60", "61-90", "90+"):
        assert f'<th class="num">{label}</th>' in page
    assert f'href="/customers/{initech.pk}/"' in page


def test_one_currency_at_a_time_with_a_switcher_and_its_totals(collector_client_a, tenant_a):
    initech = make_customer(tenant_a, "Initech")
    hooli = make_customer(tenant_a, "Hooli")
    make_invoice(initech, "I-1", due_on=days_ago(10), open_balance="100.00")
    make_invoice(initech, "I-2", due_on=days_ago(70), open_balance="50.00", currency="EUR")
    make_invoice(hooli, "H-1", due_on=days_ago(-3), open_balance="25.00")
    make_invoice(hooli, "CN-1", due_on=days_ago(5), open_balance="-5.00")  # a credit

    data, page = report(collector_client_a)  # the tenant's default currency, USD

    assert data.currency == "USD" and data.currencies == ["EUR", "USD"]
    assert [(row.customer.name, row.total) for row in data.rows] == [
        ("Initech", Decimal("100.00")),
        ("Hooli", Decimal("20.00")),
    ]
    assert (data.totals.buckets, data.totals.total) == (
        amounts("25", "95", "0", "0", "0"),
        Decimal("120"),
    )
    assert 'href="/reports/aging/?currency=EUR&amp;sort=overdue"' in page
    assert '<a href="/reports/aging/?currency=USD&amp;sort=overdue" aria-current="page">USD' in page

    data, page = report(collector_client_a, currency="eur")
    assert data.currency == "EUR"
    assert [(row.customer.name, row.buckets) for row in data.rows] == [
        ("Initech", amounts("0", "0", "0", "50", "0"))
    ]
    assert (data.totals.buckets, data.totals.total) == (amounts("0", "0", "0", "50", "0"), 50)
    assert page.count('<tr class="totals"') == 1

    data, page = report(collector_client_a, currency="JPY")
    assert data.rows == [] and data.totals is None
    assert "No open invoices in JPY." in page


def test_without_the_default_currency_the_largest_open_total_is_shown(collector_client_a, tenant_a):
    initech = make_customer(tenant_a, "Initech")
    make_invoice(initech, "I-1", due_on=days_ago(10), open_balance="100.00", currency="EUR")
    make_invoice(initech, "I-2", due_on=days_ago(10), open_balance="900.00", currency="GBP")
    data, _ = report(collector_client_a)
    assert data.currency == "GBP"


def test_no_open_invoices(collector_client_a, tenant_a):
    make_invoice(make_customer(tenant_a, "Initech"), "I-1", due_on=days_ago(1), paid=True)
    data, page = report(collector_client_a)
    assert (data.currency, data.rows, data.totals) == ("", [], None)
    assert "No open invoices." in page


def test_today_is_the_tenants_local_date(collector_client_a, tenant_a):
    Tenant.objects.filter(pk=tenant_a.pk).update(time_zone="Pacific/Auckland")
    initech = make_customer(tenant_a, "Initech")
    make_invoice(initech, "I-1", due_on=TODAY)  # already a day overdue in Auckland

    data, _ = report(collector_client_a)

    assert data.today == datetime.date(2026, 3, 11)
    assert data.rows[0].buckets == amounts("0", "100", "0", "0", "0")
    assert CustomerBalance.objects.get(customer=initech).overdue_total == Decimal("100.00")


def test_an_invoice_that_falls_due_moves_up_the_overdue_order(collector_client_a, tenant_a):
    soon = make_customer(tenant_a, "Soon")
    late = make_customer(tenant_a, "Late")
    make_invoice(soon, "S-1", due_on=TODAY, open_balance="500.00")
    make_invoice(late, "L-1", due_on=days_ago(3), open_balance="100.00")

    data, _ = report(collector_client_a)
    assert [row.customer.name for row in data.rows] == ["Late", "Soon"]

    with time_machine.travel(NOW + datetime.timedelta(days=1), tick=False):
        data = collector_client_a.get(URL).context["report"]
    assert [(row.customer.name, row.overdue) for row in data.rows] == [
        ("Soon", Decimal("500.00")),
        ("Late", Decimal("100.00")),
    ]


# --- reminders and pauses ---------------------------------------------------------------


@pytest.mark.parametrize(
    "status,shown",
    [(Status.SENT, ">Sent<"), (Status.QUEUED, ">Queued<"), (Status.ERROR, ">Error<")],
)
def test_the_last_reminders_status_and_date_are_shown(collector_client_a, tenant_a, status, shown):
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

    assert data.rows[0].last_reminder == last
    assert shown in page
    assert "Mar 9, 2026" in page
    assert ">Cancelled<" not in page  # a manual email is not a reminder


def test_an_error_reminder_shows_its_reason_and_a_resend_button(collector_client_a, tenant_a):
    initech = make_customer(tenant_a, "Initech")
    make_invoice(initech, "I-1", due_on=days_ago(3))
    failed = make_email(tenant_a, customer=initech, kind=Kind.REMINDER, status=Status.ERROR)

    _, page = report(collector_client_a, sort="total")

    assert "The mail server refused the username or password." in page
    assert f'action="/communications/{failed.pk}/resend/"' in page
    assert 'name="next" value="/reports/aging/?sort=total"' in page


def test_a_customer_never_reminded_shows_a_dash(collector_client_a, tenant_a):
    make_invoice(make_customer(tenant_a, "Initech"), "I-1", due_on=days_ago(3))

    data, page = report(collector_client_a)

    assert data.rows[0].last_reminder is None
    assert re.search(r'class="last-reminder"[^>]*>\s*—\s*</td>', page)
    assert "None" not in page


def test_a_paused_customer_shows_the_badge_and_reason(collector_client_a, tenant_a):
    initech = make_customer(tenant_a, "Initech", reminders_paused=True, pause_reason="Disputed")
    make_invoice(initech, "I-1", due_on=days_ago(3))
    make_invoice(make_customer(tenant_a, "Hooli"), "H-1", due_on=days_ago(3))
    _, page = report(collector_client_a)
    badge = (
        '<div class="paused"><span class="badge badge-paused">Paused</span> '
        '<span class="pause-reason">Disputed</span></div>'
    )
    assert page.count(badge) == 1
    assert page.count("badge-paused") == 1  # Hooli's reminders go out


def test_a_pause_without_a_reason_shows_the_badge_alone(collector_client_a, tenant_a):
    initech = make_customer(tenant_a, "Initech", reminders_paused=True)
    make_invoice(initech, "I-1", due_on=days_ago(3))
    _, page = report(collector_client_a)
    assert '<div class="paused"><span class="badge badge-paused">Paused</span></div>' in page


# --- sorting and paging ------------------------------------------------------------------


def many_customers(tenant, count: int, *, prefix: str = "Customer"):
    """`count` customers; overdue amounts repeat so that ties are broken by id."""
    made = []
    for number in range(count):
        customer = make_customer(tenant, f"{prefix} {(number * 37) % count:03d}")
        make_invoice(
            customer,
            f"{prefix}-{number}-A",
            due_on=days_ago(5 + number % 100),
            open_balance=f"{(number % 7) * 10 + 10}.00",
        )
        make_invoice(customer, f"{prefix}-{number}-B", due_on=days_ago(-10), open_balance="1.00")
        made.append(customer)
    return made


@pytest.mark.parametrize(
    "sort,key",
    [
        ("overdue", lambda row: (-row.overdue, -row.customer.pk)),
        ("total", lambda row: (-row.total, -row.customer.pk)),
        ("name", lambda row: (row.customer.name, row.customer.pk)),
    ],
)
def test_paging_is_complete_stable_and_in_order(collector_client_a, tenant_a, sort, key):
    customers = many_customers(tenant_a, 120)

    rows = every_page(collector_client_a, sort=sort)

    ids = [row.customer.pk for row in rows]
    assert len(ids) == len(set(ids)) == 120
    assert set(ids) == {customer.pk for customer in customers}
    assert rows == sorted(rows, key=key)

    # Back from the last page with Previous: the same rows, page by page.
    data, _ = report(collector_client_a, sort=sort)
    data2, _ = report(collector_client_a, sort=sort, cursor=data.next_cursor)
    data3, _ = report(collector_client_a, sort=sort, cursor=data2.next_cursor)
    assert len(data3.rows) == 20 and data3.next_cursor is None
    back, _ = report(collector_client_a, sort=sort, cursor=data3.previous_cursor)
    assert [row.customer.pk for row in back.rows] == [row.customer.pk for row in data2.rows]
    first, page = report(collector_client_a, sort=sort, cursor=back.previous_cursor)
    assert [row.customer.pk for row in first.rows] == ids[:50]
    assert first.previous_cursor is None


def test_the_pager_links_keep_the_currency_and_sort(collector_client_a, tenant_a):
    many_customers(tenant_a, 55)
    data, page = report(collector_client_a, sort="name")
    assert f'href="?currency=USD&amp;sort=name&amp;cursor={data.next_cursor}" rel="next"' in page
    assert 'rel="prev"' not in page
    data, page = report(collector_client_a, sort="name", cursor=data.next_cursor)
    assert len(data.rows) == 5
    assert 'href="/reports/aging/?currency=USD&amp;sort=name" rel="first"' in page


def test_an_old_page_number_shows_the_first_page(collector_client_a, tenant_a):
    many_customers(tenant_a, 55)
    first, _ = report(collector_client_a)
    with CaptureQueriesContext(connection) as queries:
        data, _ = report(collector_client_a, page="3")
    assert [row.customer.pk for row in data.rows] == [row.customer.pk for row in first.rows]
    assert not [q for q in queries if "OFFSET" in q["sql"].upper()]
    assert not [q for q in queries if "COUNT(" in q["sql"].upper()]


# Session, user, membership + tenant, reminder settings, the rollups' date, the open
# balances, the page's rows, their buckets, their last reminders.
AGING_QUERIES = 9


def test_the_page_costs_the_same_for_5_and_120_customers(
    collector_client_a, tenant_a, django_assert_max_num_queries
):
    def counted() -> int:
        get(collector_client_a)  # warm caches; the day's refresh happens here
        with django_assert_max_num_queries(AGING_QUERIES) as captured:
            response = get(collector_client_a)
        assert response.status_code == 200
        return len(captured.captured_queries)

    few = many_customers(tenant_a, 5, prefix="Few")
    for customer in few:
        make_email(tenant_a, customer=customer, kind=Kind.REMINDER)
    five = counted()
    for customer in many_customers(tenant_a, 115):
        make_email(tenant_a, customer=customer, kind=Kind.REMINDER)
    assert five == counted()


# --- tenants ------------------------------------------------------------------------------


def test_only_the_tenants_own_customers_show_in_the_page_and_the_export(
    collector_client_a, admin_client_b, tenant_a, tenant_b
):
    make_invoice(make_customer(tenant_a, "Initech"), "I-1", due_on=days_ago(3))
    many_customers(tenant_b, 60, prefix="Globex customer")

    data, page = report(collector_client_a)
    assert [row.customer.name for row in data.rows] == ["Initech"]
    assert "Globex customer" not in page
    assert data.totals.total == Decimal("101.00") - Decimal("1.00")
    rows = export(collector_client_a)
    assert [row[1] for row in rows[1:]] == ["Initech"]

    # A cursor from B's page only positions within A's rows.
    b_page, _ = report(admin_client_b)
    assert b_page.next_cursor
    data, page = report(collector_client_a, cursor=b_page.next_cursor)
    assert "Globex customer" not in page
    assert all(row.customer.tenant_id == tenant_a.pk for row in data.rows)


# --- bad input ----------------------------------------------------------------------------


def test_the_sort_error_uses_the_words_of_the_sort_links(collector_client_a, tenant_a):
    make_invoice(make_customer(tenant_a, "Initech"), "I-1", due_on=days_ago(3))
    page = get(collector_client_a, URL).content.decode()
    links = page.split("Sort by")[1].split("</p>")[0]
    labels = [label.lower() for _, label in SORTS]
    assert all(f">{label}</" in links for label in labels)
    error = get(collector_client_a, URL, sort="due").content.decode()
    error = error.split('id="filter-errors"')[1].split("</div>")[0]
    assert "overdue, total or customer" in error
    assert "name" not in error.lower().replace("sort:", "")


@pytest.mark.parametrize(
    "params,message",
    [
        ({"sort": "due"}, "Sort: Choose overdue, total or customer, as in Sort by."),
        ({"cursor": "not-a-cursor"}, "Page: It is not a page of this list"),
        ({"currency": "EURO"}, "Currency: It must be a three-letter currency code"),
        ({"currency": "E1R"}, "Currency: It must be a three-letter currency code"),
        ({"currency": "EU\x00"}, "Currency: It contains a NUL character"),
        ({"cursor": "a\x00"}, "Page: It contains a NUL character"),
        ({"page": "0"}, "Page: It must be a page number."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_no_query(
    collector_client_a, tenant_a, params, message
):
    make_invoice(make_customer(tenant_a, "Initech"), "I-1", due_on=days_ago(3))
    for url in (URL, EXPORT):
        with CaptureQueriesContext(connection) as queries:
            response = get(collector_client_a, url, **params)
        assert response.status_code == 400
        assert message in response.content.decode()
        for table in (Invoice, CustomerBalance, OpenBalance):
            assert not [q for q in queries if table._meta.db_table in q["sql"]]
    assert "Initech" not in get(collector_client_a, URL, **params).content.decode()


def test_a_cursor_of_another_sort_or_currency_is_refused(collector_client_a, tenant_a):
    many_customers(tenant_a, 55)
    data, _ = report(collector_client_a)
    for params in ({"sort": "name"}, {"currency": "EUR"}):
        response = get(collector_client_a, cursor=data.next_cursor, **params)
        assert response.status_code == 400


# --- the export ---------------------------------------------------------------------------


def test_the_export_equals_the_pages_rows(collector_client_a, tenant_a):
    customers = many_customers(tenant_a, 60)
    customers[0].name = '=HYPERLINK("http://evil.example")'
    customers[0].external_id = "+C-1"
    customers[0].reminders_paused = True
    customers[0].pause_reason = "@dispute"
    customers[0].save()
    reminded = make_email(
        tenant_a,
        customer=customers[1],
        kind=Kind.REMINDER,
        created_at=NOW - datetime.timedelta(days=2),
    )
    make_invoice(customers[2], "EUR-1", due_on=days_ago(40), open_balance="7.00", currency="EUR")

    for sort in ("overdue", "name"):
        page_rows = every_page(collector_client_a, sort=sort, currency="USD")
        rows = export(collector_client_a, sort=sort, currency="USD")
        assert rows[0] == [
            "customer_id",
            "name",
            "currency",
            "Current",
            "1-30",
            "31-60",
            "61-90",
            "90+",
            "total",
            "overdue",
            "reminders paused",
            "pause reason",
            "last reminder date",
            "last reminder status",
        ]
        assert [row[1] for row in rows[1:]] == [
            "'" + row.customer.name if row.customer.name.startswith("=") else row.customer.name
            for row in page_rows
        ]
        assert [row[3:10] for row in rows[1:]] == [
            [f"{amount:.2f}" for amount in [*row.buckets, row.total, row.overdue]]
            for row in page_rows
        ]
    by_name = {row[1]: row for row in rows[1:]}
    evil = by_name['\'=HYPERLINK("http://evil.example")']
    assert evil[0] == "'+C-1"
    assert evil[10:12] == ["yes", "'@dispute"]
    assert by_name[customers[1].name][12:] == [
        (reminded.created_at.date()).isoformat(),
        "Sent",
    ]
    assert by_name[customers[3].name][10:] == ["no", "", "", ""]

    # Without a currency: every currency, one after another.
    rows = export(collector_client_a)
    assert [row[2] for row in rows[1:]] == ["EUR"] + ["USD"] * 60


def test_the_page_links_to_the_export_with_its_filters(collector_client_a, tenant_a):
    make_invoice(make_customer(tenant_a, "Initech"), "I-1", due_on=days_ago(3))
    _, page = report(collector_client_a, currency="USD", sort="name")
    assert 'href="/reports/aging/export.csv?currency=USD&amp;sort=name" id="aging-export"' in page


def test_the_export_reads_in_chunks(collector_client_a, tenant_a, monkeypatch):
    from statements import aging_export

    monkeypatch.setattr(aging_export, "CHUNK_SIZE", 7)
    customers = many_customers(tenant_a, 30)
    rows = export(collector_client_a, sort="total")
    assert len(rows) == 31
    assert {row[1] for row in rows[1:]} == {customer.name for customer in customers}


def test_the_export_is_never_kept_by_a_shared_cache(collector_client_a, tenant_a):
    response = get(collector_client_a, EXPORT)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith('attachment; filename="aging-')
