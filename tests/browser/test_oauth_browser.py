"""An admin connects a Microsoft 365 or Google mailbox with OAuth on Settings | Email |
Outgoing emails, in headless Chromium, with real clicks through the provider stand-in's
consent page (tests/oauth_standin.py), then sends the test message through it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.oauth_fixtures import GOOGLE_ACCOUNT, MS_ACCOUNT

PAGE = "/settings/email/outgoing/"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SENT_BANNER = "Test message sent to admin@acme.example. Your settings are saved."


@pytest.fixture
def browser_oauth(oauth_env, settings, live_server):
    """The stand-in, with the browser sent back to the live server after consent."""
    settings.OAUTH_REDIRECT_BASE = live_server.url
    return oauth_env


def log_in_to_settings(live_server, page) -> None:
    page.goto(f"{live_server.url}{PAGE}")
    page.fill("input[name=username]", "admin@acme.example")
    page.fill("input[name=password]", "acme-admin-pw-2026")
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"**{PAGE}")


def click_connect_in_offer(page, standin, label: str) -> None:
    """Click 1: "Connect <label>" in the offer shown with the Default gateway."""
    assert page.is_checked("input[name=use_server][value=gateway]")
    offer = page.locator("#oauth-offer")
    assert offer.is_visible()
    assert f"Connect {label}" in offer.inner_text()
    offer.get_by_role("link", name=f"Connect {label}").click()
    page.wait_for_url(f"{standin.base_url}/**")


def accept_at_consent_page(page, live_server, account: str) -> None:
    """Click 2: pick the account on the stand-in's consent page and Accept."""
    page.select_option("select[name=account]", account)
    page.click("button:has-text('Accept')")
    page.wait_for_url(f"{live_server.url}{PAGE}")


def connect_with_clicks(page, live_server, standin, provider: str, label: str, account: str):
    click_connect_in_offer(page, standin, label)
    accept_at_consent_page(page, live_server, account)
    banner = page.locator(".banner-success")
    banner.wait_for()
    assert f"Connected {account} ({label})" in banner.inner_text()
    box = page.locator(f"#oauth-{provider}")
    assert box.is_visible()
    assert box.locator(".connected-account").inner_text() == account
    # The page is ready for the third click: the provider is preselected.
    assert page.is_checked(f"input[name=use_server][value={provider}]")


@pytest.mark.parametrize(
    ("provider", "label", "account"),
    [("microsoft", "Microsoft 365", MS_ACCOUNT), ("google", "Google", GOOGLE_ACCOUNT)],
)
def test_an_admin_connects_a_mailbox_and_sends_the_test_message_in_three_clicks(
    live_server, page, admin_a, browser_oauth, provider, label, account
):
    standin = browser_oauth
    log_in_to_settings(live_server, page)
    connect_with_clicks(page, live_server, standin, provider, label, account)

    page.fill("input[name=from_email]", "")  # send as the connected mailbox itself
    with page.expect_navigation():
        page.click("button:has-text('Save and send test message')")  # click 3
    if os.environ.get("SHOTS"):  # the README's screenshot of a connected mailbox
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(
            path=str(SHOTS / f"settings-email-{provider}-connected-1280.png"), full_page=True
        )
    assert page.url == f"{live_server.url}{PAGE}"
    banner = page.locator(".banner-success")
    banner.wait_for()
    assert banner.inner_text() == SENT_BANNER
    assert page.is_checked(f"input[name=use_server][value={provider}]")

    (received,) = standin.wait_for_sent(1)
    assert len(standin.sent) == 1
    assert received.provider == provider
    assert received.account.lower() == account.lower()
    assert received.from_addr.lower() == account.lower()
    assert received.message["From"].addresses[0].addr_spec.lower() == account.lower()
    assert received.to == ["admin@acme.example"]
    assert received.message_id


def test_cancel_at_the_consent_page_connects_nothing(live_server, page, admin_a, browser_oauth):
    standin = browser_oauth
    log_in_to_settings(live_server, page)
    click_connect_in_offer(page, standin, "Microsoft 365")
    page.click("button:has-text('Cancel')")
    page.wait_for_url(f"{live_server.url}{PAGE}")

    refused = page.locator("#oauth-refused")
    refused.wait_for()
    text = refused.inner_text()
    assert "The mailbox was not connected." in text
    assert "access_denied" in text
    assert page.locator(".connected-account").count() == 0
    assert page.is_checked("input[name=use_server][value=gateway]")
    assert standin.sent == []


def test_an_admin_disconnects_google_and_google_revokes_the_access(
    live_server, page, admin_a, browser_oauth
):
    standin = browser_oauth
    log_in_to_settings(live_server, page)
    connect_with_clicks(page, live_server, standin, "google", "Google", GOOGLE_ACCOUNT)

    with page.expect_navigation():
        page.click("button:has-text('Disconnect Google')")
    assert page.url == f"{live_server.url}{PAGE}"
    banner = page.locator(".banner-success")
    banner.wait_for()
    assert f"Disconnected {GOOGLE_ACCOUNT}." in banner.inner_text()
    assert "Google revoked YayPay's access." in banner.inner_text()
    assert page.locator(".connected-account").count() == 0
    assert standin.revoked


def test_enter_in_a_field_saves_and_never_disconnects(live_server, page, admin_a, browser_oauth):
    standin = browser_oauth
    log_in_to_settings(live_server, page)
    connect_with_clicks(page, live_server, standin, "google", "Google", GOOGLE_ACCOUNT)
    page.fill("input[name=from_email]", GOOGLE_ACCOUNT)
    with page.expect_navigation():
        page.press("input[name=from_email]", "Enter")
    page.locator(".banner-success").wait_for()
    assert page.locator(".banner-success").inner_text() == SENT_BANNER
    assert page.locator("#oauth-google .connected-account").inner_text() == GOOGLE_ACCOUNT
    assert standin.revoked == []
