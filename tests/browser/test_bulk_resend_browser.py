"""The issue's "three taps", on a 390 px wide phone in headless Chromium: a collector
filters the week's Error emails, opens one to see why it failed, and resends them all;
no page scrolls sideways."""

from __future__ import annotations

import datetime

from django.utils import timezone

from outbox.models import OutboundEmail, Status
from tests.page_data import make_customer, make_email

PHONE = {"width": 390, "height": 844}


def no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def test_a_collector_on_a_phone_filters_the_weeks_errors_sees_why_and_resends_them(
    live_server, browser, tenant_a, collector_a, monkeypatch
):
    # Delivery would run on commit (eager Celery): keep the resent emails Queued.
    monkeypatch.setattr("outbox.services.kick_delivery", lambda **kwargs: None)
    monkeypatch.setattr("communications.bulk_resend.kick_delivery", lambda **kwargs: None)
    today = timezone.localdate(timezone=datetime.UTC)
    monday = today - datetime.timedelta(days=today.weekday())
    sunday = monday + datetime.timedelta(days=6)
    noon = datetime.datetime.combine(monday, datetime.time(12), tzinfo=datetime.UTC)
    initech = make_customer(tenant_a, "Initech Incorporated International Holdings")
    this_week = [
        make_email(
            tenant_a,
            customer=initech,
            status=Status.ERROR,
            subject=f"Invoice {1000 + n} is overdue: please pay the remaining balance",
            to=(f"accounts.payable.department{n}@initech-international.example",),
            created_at=noon + datetime.timedelta(hours=n),
        )
        for n in range(3)
    ]
    last_week = make_email(
        tenant_a,
        customer=initech,
        status=Status.ERROR,
        subject="Old failure",
        created_at=noon - datetime.timedelta(days=7),
    )
    make_email(tenant_a, customer=initech, status=Status.SENT, route="smtp", subject="Fine")

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{live_server.url}/communications/")
        page.fill("input[name=username]", "collector@acme.example")
        page.fill("input[name=password]", "acme-collector-pw-2026")
        page.click("button:has-text('Log in')")
        page.wait_for_url("**/communications/")
        no_sideways_scroll(page)

        # Tap 1: the week's Error emails.
        page.get_by_label("Status").select_option("error")
        page.get_by_label("From", exact=True).fill(monday.isoformat())
        page.get_by_label("To", exact=True).fill(sunday.isoformat())
        page.get_by_role("button", name="Filter", exact=True).click()
        page.wait_for_url("**/communications/?status=error*")
        rows = page.locator("tr.email-row")
        assert rows.count() == 3
        assert page.locator(f"#email-{last_week.pk}").count() == 0
        no_sideways_scroll(page)

        # Tap 2: one of them, to see why.
        page.get_by_role("link", name=this_week[0].subject).click()
        page.wait_for_url(f"**/communications/{this_week[0].pk}/")
        assert "The mail server refused the username or password." in page.inner_text("#status")
        no_sideways_scroll(page)
        page.go_back()
        page.wait_for_url("**/communications/?status=error*")

        # Tap 3: all of them, confirmed.
        page.get_by_label("Select all Error emails on this page").check()
        page.get_by_role("button", name="Resend selected").click()
        page.wait_for_url("**/communications/resend/?*")
        assert "3 emails in Error will be queued again." in page.inner_text("#resend-summary")
        no_sideways_scroll(page)
        page.get_by_role("button", name="Resend 3 emails").click()

        banner = page.locator(".banner-success")
        banner.wait_for()
        assert banner.inner_text() == "3 emails queued again; 0 skipped (not in Error)"
        # It lands on the Queued list, where they now are (the Error list would be empty).
        assert "status=queued" in page.url and f"date_from={monday.isoformat()}" in page.url
        assert page.get_by_label("Status").input_value() == "queued"
        queued = page.locator("tr.email-row[data-status=queued]")
        assert sorted(queued.evaluate_all("rows => rows.map(row => row.id)")) == sorted(
            f"email-{email.pk}" for email in this_week
        )
        no_sideways_scroll(page)
    finally:
        context.close()

    statuses = dict(OutboundEmail.objects.values_list("pk", "status"))
    assert [statuses[e.pk] for e in this_week] == [Status.QUEUED] * 3
    assert statuses[last_week.pk] == Status.ERROR


def test_the_customer_filter_offers_the_tenants_customers_as_you_type(
    live_server, page, tenant_a, tenant_b, collector_a
):
    initech = make_customer(tenant_a, "Initech", external_id="C-100")
    make_customer(tenant_a, "Initrode")
    make_customer(tenant_b, "Initial Globex")  # another tenant's: never offered
    make_email(tenant_a, customer=initech, subject="For Initech")
    make_email(tenant_a, subject="For nobody")

    page.goto(f"{live_server.url}/communications/")
    page.fill("input[name=username]", "collector@acme.example")
    page.fill("input[name=password]", "acme-collector-pw-2026")
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/communications/")

    page.get_by_label("Customer").press_sequentially("ini")
    status = page.locator("#customer-suggest-status")
    status.filter(has_text="2 customers found: pick one.").wait_for()
    options = page.locator("#customer-suggestions option")
    assert [options.nth(n).get_attribute("label") for n in range(options.count())] == [
        "Initech (C-100)",
        "Initrode",
    ]
    # A whole name typed without picking from the list still filters by that customer.
    page.get_by_label("Customer").fill("initech")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.wait_for_url(f"**/communications/?*customer={initech.pk}*")
    assert page.locator("tr.email-row").count() == 1
    assert "For Initech" in page.locator("tr.email-row").inner_text()
