"""The Dashboard: the week's emails by status, recent errors, and failing settings."""

from __future__ import annotations

import datetime

from django.test import Client
from django.utils import timezone

from outbox.models import Status
from routes.config import settings_for
from routes.models import OutgoingEmailSettings
from tests.page_data import AUTH_REASON, make_customer, make_email, make_invoice

URL = "/"


def text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def failing(tenant) -> None:
    OutgoingEmailSettings.objects.filter(pk=settings_for(tenant).pk).update(
        use_server="smtp",
        host="smtp.acme.example",
        port=587,
        last_tested_at=timezone.now(),
        last_result_ok=False,
        last_result_code="auth_failed",
        last_result_message=AUTH_REASON,
    )


def test_an_anonymous_visitor_is_sent_to_the_login(db):
    response = Client().get(URL)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_it_counts_the_last_seven_days_emails_by_status(collector_client_a, tenant_a, tenant_b):
    for status in (Status.SENT, Status.SENT, Status.ERROR, Status.QUEUED):
        make_email(tenant_a, status=status)
    make_email(tenant_a, status=Status.SENT, created_at=timezone.now() - datetime.timedelta(days=8))
    make_email(tenant_b, status=Status.SENT)

    response = collector_client_a.get(URL)

    counts = {value: count for value, _label, count in response.context["counts"]}
    assert counts == {"queued": 1, "sending": 0, "sent": 2, "error": 1, "cancelled": 0}
    page = text(response)
    assert '<span class="n">2</span> Sent' in page
    assert 'href="/communications/?status=error"' in page


def test_recent_errors_show_their_reason_and_link_to_their_detail(collector_client_a, tenant_a):
    initech = make_customer(tenant_a, "Initech")
    failed = make_email(
        tenant_a, customer=initech, status=Status.ERROR, subject="Invoice 7 overdue"
    )
    make_email(tenant_a, status=Status.SENT, subject="Invoice 8 overdue")

    page = text(collector_client_a.get(URL))

    assert f'<a href="/communications/{failed.pk}/">Invoice 7 overdue</a>' in page
    # A short reason to scan, the full text one click away (a <details>).
    assert '<span class="short-reason">Login refused</span>' in page
    assert "The mail server refused the username or password." in page
    assert f'action="/communications/{failed.pk}/resend/"' in page
    assert "Invoice 8 overdue" not in page


def test_recent_errors_are_only_the_tenants_own(collector_client_a, tenant_b):
    make_email(tenant_b, status=Status.ERROR, subject="Globex secret")
    page = text(collector_client_a.get(URL))
    assert "Globex secret" not in page
    assert "No errors." in page


def test_failing_settings_show_a_red_banner_that_links_admins_to_the_settings(
    admin_client_a, tenant_a
):
    failing(tenant_a)
    page = text(admin_client_a.get(URL))
    assert 'class="banner banner-error" role="alert" id="outgoing-failing"' in page
    assert "Outgoing emails are failing" in page
    assert "The mail server refused the username or password." in page
    assert '<a href="/settings/email/outgoing/">Settings | Email | Outgoing emails</a>' in page


def test_a_collector_sees_the_banner_and_is_told_to_ask_an_admin(collector_client_a, tenant_a):
    failing(tenant_a)
    page = text(collector_client_a.get(URL))
    assert "Outgoing emails are failing" in page
    assert "Ask an admin to fix Settings | Email | Outgoing emails." in page
    assert 'href="/settings/email/outgoing/"' not in page


def test_there_is_no_banner_while_the_settings_work_or_were_never_tested(
    admin_client_a, tenant_a, tenant_b
):
    assert "outgoing-failing" not in text(admin_client_a.get(URL))
    OutgoingEmailSettings.objects.filter(pk=settings_for(tenant_a).pk).update(last_result_ok=True)
    failing(tenant_b)
    assert "outgoing-failing" not in text(admin_client_a.get(URL))


def test_the_nav_links_every_page_and_admins_get_the_settings(admin_client_a, collector_client_a):
    admin_page = text(admin_client_a.get(URL))
    for link in (
        'href="/"',
        'href="/communications/"',
        'href="/reports/aging/"',
        'href="/settings/email/outgoing/"',
        'href="/settings/reminders/"',
    ):
        assert link in admin_page
    collector_page = text(collector_client_a.get(URL))
    assert 'href="/reports/aging/"' in collector_page
    assert 'href="/settings/reminders/"' not in collector_page
    assert 'href="/settings/email/outgoing/"' not in collector_page


# --- the charts ---------------------------------------------------------------------------


def aging_chart_html(page: str, currency: str) -> str:
    start = page.index(f'id="aging-chart-{currency}"')
    return page[start : page.index("</figure>", start)]


def test_the_overdue_chart_buckets_each_currency_like_the_aging_report(
    collector_client_a, tenant_a, tenant_b
):
    today = timezone.now().date()
    initech = make_customer(tenant_a, "Initech")
    make_invoice(initech, "I-1", due_on=today + datetime.timedelta(days=3), open_balance="25.00")
    make_invoice(initech, "I-2", due_on=today - datetime.timedelta(days=10), open_balance="1000")
    make_invoice(initech, "I-3", due_on=today - datetime.timedelta(days=120), open_balance="5")
    make_invoice(
        initech, "I-4", due_on=today - datetime.timedelta(days=40), open_balance="7", currency="EUR"
    )
    make_invoice(make_customer(tenant_b, "Globex"), "G-1", due_on=today, currency="JPY")

    response = collector_client_a.get(URL)
    page = text(response)

    charts = response.context["aging_charts"]
    assert [chart.currency for chart in charts] == ["USD", "EUR"]  # the default one first
    usd = aging_chart_html(page, "USD")
    assert "$1,005.00 overdue of $1,030.00 open" in usd
    assert (
        '<desc id="aging-desc-USD">Current: $25.00; 1-30 days overdue: $1,000.00; '
        "31-60 days overdue: $0.00; 61-90 days overdue: $0.00; 90+ days overdue: $5.00.</desc>"
    ) in usd
    assert 'href="/reports/aging/?currency=USD"' in usd
    assert "€7.00 overdue of €7.00 open" in aging_chart_html(page, "EUR")
    assert "JPY" not in page  # another tenant's balances


def test_without_open_invoices_the_overdue_chart_says_so(collector_client_a):
    page = text(collector_client_a.get(URL))
    section = page[page.index('id="overdue"') :]
    assert "No open invoices." in section[: section.index("</section>")]


def test_the_daily_chart_shows_the_last_30_days_sent_and_error(
    collector_client_a, tenant_a, tenant_b
):
    now = timezone.now()
    for status, days_ago in [
        (Status.SENT, 0),
        (Status.SENT, 0),
        (Status.ERROR, 0),
        (Status.SENT, 29),
        (Status.SENT, 31),  # before the chart's first day
        (Status.QUEUED, 0),
    ]:
        make_email(tenant_a, status=status, created_at=now - datetime.timedelta(days=days_ago))
    for _ in range(5):
        make_email(tenant_b, status=Status.ERROR)

    response = collector_client_a.get(URL)
    page = text(response)

    daily = response.context["daily"]
    assert len(daily.columns) == 30
    assert (daily.total_sent, daily.total_error, daily.peak) == (3, 1, 3)
    chart = page[
        page.index('id="daily-chart"') : page.index("</figure>", page.index('id="daily-chart"'))
    ]
    assert "3 Sent and 1 Error from" in chart
    assert chart.count('<rect class="bar-sent"') == 2  # today and 29 days ago
    assert chart.count('<rect class="bar-error"') == 1
    assert '<td class="num">2</td><td class="num">1</td>' in chart  # today's table row


def test_the_dashboard_costs_the_same_for_few_and_many_invoices_and_emails(
    collector_client_a, tenant_a, django_assert_max_num_queries
):
    today = timezone.now().date()

    def add(count: int, prefix: str) -> None:
        for n in range(count):
            customer = make_customer(tenant_a, f"{prefix} {n}")
            make_invoice(customer, f"{prefix}-{n}", due_on=today - datetime.timedelta(days=n))
            make_email(tenant_a, customer=customer, status=Status.ERROR)

    def counted() -> int:
        collector_client_a.get(URL)
        with django_assert_max_num_queries(DASHBOARD_QUERIES) as captured:
            assert collector_client_a.get(URL).status_code == 200
        return len(captured.captured_queries)

    add(2, "Few")
    few = counted()
    add(40, "Many")
    assert counted() == few


# Session, user, membership + tenant, the week's counts, the outgoing settings, the reminder
# settings, the open balances rollup, the 30 days' counts, the recent errors.
DASHBOARD_QUERIES = 9
