"""An admin logs in, fills Settings | Email | Outgoing emails, clicks the button, and
sees the success banner, in headless Chromium against a real SMTP server."""

from __future__ import annotations

from tests.smtp_fixtures import MAILBOX_LOGIN, MAILBOX_PASSWORD


def test_an_admin_saves_smtp_settings_and_sees_the_test_message_sent(
    live_server, page, admin_a, starttls_server
):
    page.goto(f"{live_server.url}/settings/email/outgoing/")
    # Anonymous: the login comes first, then back to the page.
    page.fill("input[name=username]", "Admin@Acme.example")
    page.fill("input[name=password]", "acme-admin-pw-2026")
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/settings/email/outgoing/")

    page.check("input[name=use_server][value=smtp]")
    page.fill("input[name=from_email]", "ar@acme.example")
    page.fill("input[name=sender_name]", "Acme AR")
    page.fill("input[name=host]", "localhost")
    page.fill("input[name=port]", str(starttls_server.port))
    page.fill("input[name=username]", MAILBOX_LOGIN)
    page.fill("input[name=password]", MAILBOX_PASSWORD)
    page.select_option("select[name=encryption]", "tls")
    page.click("button:has-text('Save and send test message')")

    banner = page.locator(".banner-success")
    banner.wait_for()
    assert (
        banner.inner_text() == "Test message sent to admin@acme.example. Your settings are saved."
    )
    assert page.input_value("input[name=password]") == ""
    assert MAILBOX_PASSWORD not in page.content()
    (received,) = starttls_server.wait_for(1)
    assert received.message["From"] == "Acme AR <ar@acme.example>"
