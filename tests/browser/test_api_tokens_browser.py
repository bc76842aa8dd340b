"""An admin creates an API token on Settings | API tokens, sees it once, and it opens the
API; after a reload only its prefix is left. In headless Chromium."""

from __future__ import annotations

from django.test import Client

from api.models import ApiToken


def test_an_admin_creates_an_api_token_and_sees_it_once(live_server, page, tenant_a, admin_a):
    page.goto(f"{live_server.url}/settings/api-tokens/")
    page.fill("input[name=username]", "admin@acme.example")
    page.fill("input[name=password]", "acme-admin-pw-2026")
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/settings/api-tokens/")
    assert page.locator("#tokens").inner_text().count("No tokens yet.") == 1

    page.fill("input[name=name]", "NetSuite nightly")
    page.get_by_role("button", name="Create token").click()
    banner = page.locator("#new-token")
    banner.wait_for()
    assert "shown only this once" in banner.inner_text()
    raw = page.locator("#new-token-value").inner_text().strip()
    assert raw.startswith("ypk_")

    token = ApiToken.objects.get(tenant=tenant_a)
    row = page.locator(f"#token-{token.pk}")
    assert "NetSuite nightly" in row.inner_text()
    assert token.prefix in row.inner_text() and raw not in row.inner_text()

    # The token works against the API.
    response = Client().get("/api/v1/emails", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200

    # Shown once: a reload (a GET) lists the prefix only.
    page.goto(f"{live_server.url}/settings/api-tokens/")
    assert raw not in page.content()
    assert page.locator("#new-token").count() == 0
    assert token.prefix in page.locator(f"#token-{token.pk}").inner_text()

    page.locator(f"#token-{token.pk}").get_by_role("button", name="Revoke").click()
    page.locator(".banner-success").wait_for()
    assert "Revoked" in page.locator(f"#token-{token.pk}").inner_text()
    response = Client().get("/api/v1/emails", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401
