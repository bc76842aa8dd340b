"""A user who forgot their password asks for a reset from the login page, opens the link
that the gateway delivered, sets a new password and logs in with it, in headless Chromium."""

from __future__ import annotations

import re

import pytest


@pytest.mark.usefixtures("eager_tasks")
def test_a_user_resets_a_forgotten_password_through_the_emailed_link(
    live_server, page, admin_a, gateway, settings
):
    settings.SITE_URL = live_server.url  # links in emails start with SITE_URL
    page.goto(f"{live_server.url}/accounts/login/")
    page.click("text=Forgot your password?")
    page.fill("input[name=email]", "Admin@Acme.example")
    page.click("button:has-text('Send reset link')")
    page.wait_for_url("**/accounts/password_reset/done/")
    assert (
        "a link to reset its password is on its way" in page.locator(".banner-success").inner_text()
    )

    (received,) = gateway.wait_for(1, timeout=15)
    text = received.message.get_body(preferencelist=("plain",)).get_content()
    (link,) = re.findall(r"http://\S+/accounts/reset/\S+/", text)
    assert link.startswith(live_server.url)

    page.goto(link)
    page.fill("input[name=new_password1]", "fresh-acme-pw-2027")
    page.fill("input[name=new_password2]", "fresh-acme-pw-2027")
    page.click("button:has-text('Set new password')")
    page.wait_for_url("**/accounts/reset/done/")
    assert (
        page.locator(".banner-success").inner_text()
        == "Your new password is set. Log in with it now."
    )

    page.get_by_role("link", name="Log in", exact=True).click()
    page.fill("input[name=username]", "admin@acme.example")
    page.fill("input[name=password]", "fresh-acme-pw-2027")
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{live_server.url}/")
    assert "Acme Corp" in page.content()
