"""The Dashboard: the week's emails by status, recent errors, and failing settings."""

from __future__ import annotations

import datetime

from django.test import Client
from django.utils import timezone

from communications.models import Status
from settings_app.models import OutgoingEmailSettings
from settings_app.services import settings_for
from tests.page_data import AUTH_REASON, make_customer, make_email

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
