"""A collector logs in, opens the Error emails on Communications, clicks Resend, and sees
the email queued again, in headless Chromium."""

from __future__ import annotations

from outbox.models import Status
from tests.page_data import make_customer, make_email


def test_a_collector_resends_an_error_email_from_communications(
    live_server, page, tenant_a, collector_a, monkeypatch
):
    # Delivery would run on commit (eager Celery, live_server's real transactions);
    # keep the email Queued so the page can show it.
    monkeypatch.setattr("outbox.services.kick_delivery", lambda **kwargs: None)
    initech = make_customer(tenant_a, "Initech")
    failed = make_email(
        tenant_a, customer=initech, status=Status.ERROR, subject="Invoice 1001 overdue"
    )
    make_email(tenant_a, customer=initech, status=Status.SENT, subject="Invoice 1000 overdue")

    page.goto(f"{live_server.url}/communications/?status=error")
    page.fill("input[name=username]", "collector@acme.example")
    page.fill("input[name=password]", "acme-collector-pw-2026")
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/communications/?status=error")

    row = page.locator(f"#email-{failed.pk}")
    assert row.locator(".badge").inner_text() == "Error"
    # A one-line reason in the row; the full text one click away.
    assert row.locator(".short-reason").inner_text() == "Login refused"
    assert "The mail server refused the username or password." not in row.inner_text()
    row.locator("summary").click()
    assert "The mail server refused the username or password." in row.inner_text()
    row.get_by_role("button", name="Resend").click()

    banner = page.locator(".banner-success")
    banner.wait_for()
    assert banner.inner_text() == "Queued to send again."
    assert page.url == f"{live_server.url}/communications/?status=error"
    # Back on the Error list, the email has left it; the full list shows it Queued.
    assert page.locator(f"#email-{failed.pk}").count() == 0
    page.get_by_role("link", name="Communications", exact=True).click()
    page.wait_for_url("**/communications/")
    row = page.locator(f"#email-{failed.pk}")
    assert row.locator(".badge").inner_text() == "Queued"
    assert row.get_by_role("button", name="Resend").count() == 0

    failed.refresh_from_db()
    assert (failed.status, failed.tries, failed.error_message) == (Status.QUEUED, 0, "")
