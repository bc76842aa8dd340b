"""Issue 16's small things, clicked in headless Chromium: one word for resuming a
customer's reminders, a reversed date range that keeps what was typed, the API token's
Copy button and quiet Revoke, and radio buttons that stay beside their labels on a phone."""

from __future__ import annotations

import pytest

from routes import secrets
from routes.models import OAuthConnection
from tests.page_data import make_customer
from yaypay_mail.models import Customer

PHONE = {"width": 390, "height": 844}


def log_in(page, base_url: str, path: str, *, who: str = "admin") -> None:
    page.goto(f"{base_url}{path}")
    page.fill("input[name=username]", f"{who}@acme.example")
    page.fill("input[name=password]", f"acme-{who}-pw-2026")
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"**{path}")


def test_resuming_reminders_says_resume_on_the_button_and_in_the_banner(
    live_server, page, tenant_a, collector_a
):
    hooli = make_customer(tenant_a, "Hooli", reminders_paused=True, pause_reason="Disputed")
    log_in(page, live_server.url, f"/customers/{hooli.pk}/", who="collector")
    assert page.get_by_role("button", name="Unpause reminders").count() == 0
    page.get_by_role("button", name="Resume reminders").click()
    page.locator(".banner-success").wait_for()
    assert page.locator(".banner-success").inner_text() == "Reminders resumed."
    assert page.locator("#pause-state").inner_text() == "Active"
    assert Customer.objects.get(pk=hooli.pk).reminders_paused is False


def test_a_reversed_date_range_keeps_what_was_typed_and_says_why(
    live_server, page, tenant_a, collector_a
):
    log_in(page, live_server.url, "/communications/", who="collector")
    assert "YYYY-MM-DD" not in page.inner_text("#email-filters")  # the picker shows its own
    page.get_by_label("From", exact=True).fill("2026-11-30")
    page.get_by_label("To", exact=True).fill("2026-11-01")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.locator("#filter-errors").wait_for()
    assert "To: It must be the same day as From or a later one." in page.inner_text(
        "#filter-errors"
    )
    assert page.get_by_label("From", exact=True).input_value() == "2026-11-30"
    assert page.get_by_label("To", exact=True).input_value() == "2026-11-01"


def test_a_new_token_has_a_copy_button_and_revoke_is_not_the_primary_button(
    live_server, browser, tenant_a, admin_a
):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        log_in(page, live_server.url, "/settings/api-tokens/")
        page.fill("input[name=name]", "NetSuite nightly")
        page.get_by_role("button", name="Create token").click()
        page.locator("#new-token").wait_for()
        raw = page.inner_text("#new-token-value").strip()
        page.get_by_role("button", name="Copy", exact=True).click()
        page.wait_for_function("document.getElementById('new-token-copied').textContent")
        assert page.inner_text("#new-token-copied") == "Copied."
        assert page.evaluate("navigator.clipboard.readText()") == raw

        create = page.get_by_role("button", name="Create token")
        revoke = page.get_by_role("button", name="Revoke")
        primary = create.evaluate("b => getComputedStyle(b).backgroundColor")
        assert revoke.evaluate("b => getComputedStyle(b).backgroundColor") != primary
        assert revoke.evaluate("b => getComputedStyle(b).color") == "rgb(165, 14, 14)"
    finally:
        context.close()


def test_without_javascript_the_token_is_there_to_select_and_no_dead_copy_button(
    live_server, browser, tenant_a, admin_a
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        log_in(page, live_server.url, "/settings/api-tokens/")
        page.fill("input[name=name]", "Script")
        page.get_by_role("button", name="Create token").click()
        page.locator("#new-token").wait_for()
        assert page.inner_text("#new-token-value").startswith("ypk_")
        assert not page.get_by_role("button", name="Copy", exact=True).is_visible()
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 320])
def test_on_a_phone_each_radio_stays_beside_its_label(
    live_server, browser, tenant_a, admin_a, settings, width
):
    settings.MICROSOFT_CLIENT_ID = "yaypay-app"
    settings.GOOGLE_CLIENT_ID = "yaypay-app"
    from django.utils import timezone

    OAuthConnection.objects.create(
        tenant=tenant_a,
        provider="google",
        account_email="ar@acme.example",
        refresh_token_encrypted=secrets.encrypt("refresh"),
        connected_at=timezone.now(),
    )
    context = browser.new_context(viewport={**PHONE, "width": width})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        log_in(page, live_server.url, "/settings/email/outgoing/")
        pairs = page.evaluate(
            """() => [...document.querySelectorAll("input[name=use_server]")].map(radio => {
                const label = document.querySelector(`label[for="${radio.id}"]`);
                const r = radio.getBoundingClientRect();
                const first = label.getClientRects()[0];
                return {value: radio.value, radio: [r.left, r.right, r.top, r.bottom],
                        label: [first.left, first.right, first.top, first.bottom]};
            })"""
        )
        assert len(pairs) == 4
        for pair in pairs:
            r_left, r_right, r_top, r_bottom = pair["radio"]
            l_left, _, l_top, l_bottom = pair["label"]
            middle = (r_top + r_bottom) / 2
            # On the same line as the label's first line, just left of it.
            assert l_top <= middle <= l_bottom, pair
            assert 0 <= l_left - r_right <= 16, pair
    finally:
        context.close()
