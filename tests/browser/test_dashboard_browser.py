"""In headless Chromium at 390 px (a phone): the Dashboard's charts render, and the
Dashboard, the Aging Report, Customers and a Statement do not scroll sideways."""

from __future__ import annotations

import datetime

from django.utils import timezone

from outbox.models import Kind, Status
from tests.page_data import make_customer, make_email, make_invoice

PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def log_in(page, base_url: str, path: str) -> None:
    page.goto(f"{base_url}{path}")
    page.fill("input[name=username]", "collector@acme.example")
    page.fill("input[name=password]", "acme-collector-pw-2026")
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"**{path}")


def a_busy_tenant(tenant):
    today = timezone.now().date()
    customers = []
    for n, days in enumerate([-5, 12, 45, 75, 400]):
        customer = make_customer(
            tenant,
            f"Northwind Traders International Holdings {n}",
            billing_email=f"accounts.payable.department{n}@northwind-traders-international.example",
            reminders_paused=n == 1,
            pause_reason="Disputed invoice INV-20261130-0001, waiting on the credit note"
            if n == 1
            else "",
        )
        make_invoice(
            customer,
            f"INV-{n}",
            due_on=today - datetime.timedelta(days=days),
            open_balance="1234567.89",
        )
        make_invoice(
            customer,
            f"EUR-{n}",
            due_on=today - datetime.timedelta(days=days),
            open_balance="9876.54",
            currency="EUR",
        )
        customers.append(customer)
    now = timezone.now()
    for days in range(30):
        for _ in range(days % 4):
            make_email(tenant, status=Status.SENT, created_at=now - datetime.timedelta(days=days))
    make_email(tenant, customer=customers[2], status=Status.ERROR, kind=Kind.REMINDER)
    return customers


def test_a_phone_sees_the_charts_and_no_page_scrolls_sideways(
    live_server, page, tenant_a, collector_a
):
    customers = a_busy_tenant(tenant_a)
    page.set_viewport_size(PHONE)

    log_in(page, live_server.url, "/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    usd = page.locator("#aging-chart-USD svg[role=img]")
    assert usd.is_visible()
    box = usd.bounding_box()
    assert box["width"] > 200 and box["x"] + box["width"] <= PHONE["width"]
    assert page.locator("#aging-chart-USD rect[class^=bucket-]").count() == 5
    assert page.locator("#aging-chart-EUR").is_visible()
    assert "$6,172,839.45 open" in page.locator("#aging-chart-USD figcaption").inner_text()
    daily = page.locator("#daily-chart svg[role=img]")
    assert daily.is_visible()
    assert page.locator("#daily-chart rect.bar-sent").count() > 10
    assert page.locator("#daily-chart rect.bar-error").count() == 1
    page.get_by_text("Emails per day as a table").click()
    assert page.locator("#daily-table").is_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert page.locator("#recent-errors .badge-error").first.is_visible()

    page.goto(f"{live_server.url}/reports/aging/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    paused = page.locator(f"tr[data-customer='{customers[1].pk}'] .badge-paused")
    assert paused.is_visible() and paused.inner_text() == "Paused"
    errored = page.locator(f"tr[data-customer='{customers[2].pk}'] .last-reminder .status-error")
    assert errored.is_visible()
    assert page.locator("tr.totals").is_visible()

    for path in ("/customers/", f"/customers/{customers[1].pk}/"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate(NO_SIDEWAYS_SCROLL), path
    page.goto(f"{live_server.url}/customers/")
    assert page.locator(f"#customer-{customers[1].pk} .reminders").is_visible()


def test_on_a_laptop_the_wide_aging_table_scrolls_in_its_own_box(
    live_server, page, tenant_a, collector_a
):
    a_busy_tenant(tenant_a)
    page.set_viewport_size({"width": 1024, "height": 800})
    log_in(page, live_server.url, "/reports/aging/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert page.locator("#aging thead").is_visible()  # a table, not cards, on a laptop
    page.goto(f"{live_server.url}/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert page.locator("#daily-chart svg").is_visible()
