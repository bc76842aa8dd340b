"""An admin logs in, fills Settings | Email | Outgoing emails, clicks the button, and
sees the success banner, in headless Chromium against a real SMTP server."""

from __future__ import annotations

import re

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


def log_in_to_settings(live_server, page) -> None:
    page.goto(f"{live_server.url}/settings/email/outgoing/")
    page.fill("input[name=username]", "admin@acme.example")
    page.fill("input[name=password]", "acme-admin-pw-2026")
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/settings/email/outgoing/")


def test_the_default_gateway_hides_the_smtp_fields_and_previews_the_headers(
    live_server, page, admin_a
):
    log_in_to_settings(live_server, page)
    page.check("input[name=use_server][value=gateway]")
    assert not page.is_visible("input[name=host]")
    assert not page.is_visible("input[name=sender_name]")
    assert page.inner_text("#from-email-label").startswith("Replies go to")
    preview = page.locator("#gateway-preview")
    assert '"Acme Corp via YayPay" <no-reply@yaypay.com>' in preview.inner_text()
    page.fill("input[name=from_email]", "ar@acme.example")
    assert "ar@acme.example" in preview.inner_text()

    assert not page.is_visible("#egress")  # server addresses to allow: SMTP only

    page.check("input[name=use_server][value=smtp]")
    assert page.is_visible("input[name=host]")
    assert page.inner_text("#from-email-label").startswith("From")
    assert not page.is_visible("#gateway-preview")
    assert page.is_visible("#egress")


def test_a_provider_preset_fills_server_port_and_encryption_and_shows_its_steps(
    live_server, page, admin_a
):
    log_in_to_settings(live_server, page)
    page.check("input[name=use_server][value=smtp]")
    page.select_option("#provider", "microsoft")
    assert page.input_value("input[name=host]") == "smtp.office365.com"
    assert page.input_value("input[name=port]") == "587"
    assert page.input_value("select[name=encryption]") == "tls"
    steps = page.locator(".provider-steps[data-provider=microsoft]")
    assert "SMTP AUTH must be enabled" in steps.inner_text()
    assert "end of December 2026" in steps.inner_text()
    assert not page.is_visible(".provider-steps[data-provider=google]")

    page.select_option("#provider", "google")
    assert page.input_value("input[name=host]") == "smtp.gmail.com"
    assert "app password" in page.inner_text(".provider-steps[data-provider=google]")


def test_without_javascript_every_field_shows_and_the_form_posts_the_same_fields(
    live_server, browser, admin_a
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in_to_settings(live_server, page)
        page.check("input[name=use_server][value=gateway]")
        assert page.is_visible("input[name=host]")
        assert page.is_visible("#gateway-preview")
        form_html = page.inner_html("#outgoing-form")
        names = set(re.findall(r'name="([^"]+)"', form_html))
        assert names == {
            "csrfmiddlewaretoken",
            "use_server",
            "from_email",
            "sender_name",
            "host",
            "port",
            "username",
            "password",
            "encryption",
        }
    finally:
        context.close()


def test_the_button_waits_disabled_while_a_stalling_server_holds_the_test(
    live_server, page, admin_a, raw_server_factory, settings
):
    settings.SMTP_TIMEOUT = 3.0
    settings.SMTP_DEADLINE = 4.0
    server = raw_server_factory("never_greet")
    log_in_to_settings(live_server, page)
    page.check("input[name=use_server][value=smtp]")
    page.fill("input[name=from_email]", "ar@acme.example")
    page.fill("input[name=host]", "localhost")
    page.fill("input[name=port]", str(server.port))
    page.fill("input[name=username]", MAILBOX_LOGIN)
    page.fill("input[name=password]", MAILBOX_PASSWORD)
    # Playwright cannot read a page while its form's answer is pending, so the page
    # reports each change of the button as it happens, and the answer is logged too.
    events: list[tuple] = []
    page.expose_function("buttonChanged", lambda disabled, text: events.append((disabled, text)))
    page.on(
        "response",
        lambda response: response.request.method == "POST" and events.append("answered"),
    )
    page.evaluate(
        """() => {
            const button = document.getElementById("save-and-test");
            new MutationObserver(() => window.buttonChanged(button.disabled, button.textContent))
                .observe(button, {attributes: true, childList: true, characterData: true});
        }"""
    )
    page.locator("#save-and-test").click()

    # While the server stalled, before any answer: one disabled button that says so.
    assert events[0] == (True, "Testing… (up to 4 s)")
    assert events.index("answered") > 0
    assert server.connections == 1

    # The deadline ends it: the failure shows and the button works again.
    page.locator(".banner-error").wait_for(timeout=15_000)
    assert page.locator("#save-and-test").is_enabled()
    assert page.locator("#save-and-test").inner_text() == "Save and send test message"


def test_without_javascript_the_form_still_posts_and_tests(
    live_server, browser, admin_a, starttls_server
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in_to_settings(live_server, page)
        page.check("input[name=use_server][value=smtp]")
        page.fill("input[name=from_email]", "ar@acme.example")
        page.fill("input[name=host]", "localhost")
        page.fill("input[name=port]", str(starttls_server.port))
        page.fill("input[name=username]", MAILBOX_LOGIN)
        page.fill("input[name=password]", MAILBOX_PASSWORD)
        page.click("button:has-text('Save and send test message')")
        page.locator(".banner-success").wait_for()
        assert "Test message sent to admin@acme.example." in page.inner_text(".banner-success")
        starttls_server.wait_for(1)
    finally:
        context.close()
