"""In headless Chromium: a collector finds a customer on Customers and pauses its
reminders with a reason; an admin then edits its billing email."""

from __future__ import annotations

from tests.page_data import make_customer
from yaypay_mail.models import CustomerChange


def log_in(page, base_url: str, email: str, password: str, path: str) -> None:
    page.goto(f"{base_url}{path}")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"**{path}")


def test_a_collector_pauses_and_an_admin_edits_the_billing_email(
    live_server, page, tenant_a, admin_a, collector_a
):
    initech = make_customer(
        tenant_a, "Initech", external_id="ERP-42", billing_email="ap@initech.example"
    )
    make_customer(tenant_a, "Hooli")

    log_in(page, live_server.url, "collector@acme.example", "acme-collector-pw-2026", "/customers/")
    page.fill("input[name=q]", "erp-42")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/customers/?q=erp-42*")
    assert page.locator("tr.customer-row").count() == 1
    page.get_by_role("link", name="Initech").click()
    page.wait_for_url(f"**/customers/{initech.pk}/")
    assert page.get_by_role("link", name="Edit").count() == 0  # collectors do not edit

    page.fill("input[name=reason]", "Disputed INV-1")
    page.get_by_role("button", name="Pause reminders").click()
    page.locator(".banner-success").wait_for()
    assert page.locator(".banner-success").inner_text() == "Reminders paused."
    assert page.locator("#pause-state").inner_text() == "Paused: Disputed INV-1"
    history = page.locator("#history tr.history-row").first.inner_text()
    assert "collector@acme.example" in history and "Pause reason: — → Disputed INV-1" in history

    page.get_by_role("button", name=f"Log out {collector_a.email}").click()
    log_in(
        page,
        live_server.url,
        "admin@acme.example",
        "acme-admin-pw-2026",
        f"/customers/{initech.pk}/",
    )
    page.get_by_role("link", name="Edit").click()
    page.wait_for_url(f"**/customers/{initech.pk}/edit/")
    assert page.get_by_label("Reminders paused").is_checked()
    assert page.get_by_label("Pause reason").input_value() == "Disputed INV-1"
    page.get_by_label("Billing email").fill("billing@initech.example")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/customers/{initech.pk}/")

    assert page.locator(".banner-success").inner_text() == "Customer saved."
    assert "billing@initech.example" in page.locator("#customer").inner_text()
    assert page.locator("#pause-state").inner_text() == "Paused: Disputed INV-1"
    latest = page.locator("#history tr.history-row").first.inner_text()
    assert "admin@acme.example" in latest
    assert "Billing email: ap@initech.example → billing@initech.example" in latest

    initech.refresh_from_db()
    assert initech.billing_email == "billing@initech.example"
    assert CustomerChange.objects.filter(customer=initech).count() == 2
