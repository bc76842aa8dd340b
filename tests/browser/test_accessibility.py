"""axe-core (bundled by axe-playwright-python) on every page a person opens, in headless
Chromium, at desktop and phone widths: no serious or critical violation, and no page
that scrolls sideways on a 390 px phone."""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from outbox.models import Status
from routes import secrets
from routes.models import OAuthConnection, OutgoingEmailSettings
from tests.page_data import make_customer, make_email, make_invoice

ADMIN = ("admin@acme.example", "acme-admin-pw-2026")
SERIOUS = {"serious", "critical"}
# SHOTS=1 also saves each page as docs/screenshots/<page>-<width>.png (the README's set).
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def save_shot(page, name: str, width: int) -> None:
    if os.environ.get("SHOTS"):
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        page.screenshot(path=str(SHOTS / f"{slug}-{width}.png"), full_page=True)


@pytest.fixture
def pages(tenant_a, admin_a, settings):
    """A tenant with something on every page: customers, overdue invoices in two
    currencies, a paused customer, sent and failed emails, a connected Google mailbox
    in use and Microsoft 365 offered."""
    settings.MICROSOFT_CLIENT_ID = "yaypay-app"
    settings.GOOGLE_CLIENT_ID = "yaypay-app"
    OAuthConnection.objects.create(
        tenant=tenant_a,
        provider="google",
        account_email="ar@acme.example",
        refresh_token_encrypted=secrets.encrypt("refresh"),
        connected_at=timezone.now(),
    )
    OutgoingEmailSettings.objects.update_or_create(
        tenant=tenant_a, defaults={"use_server": "google", "from_email": "billing@acme.example"}
    )
    today = timezone.localdate()
    initech = make_customer(tenant_a, "Initech", external_id="C-1001")
    hooli = make_customer(tenant_a, "Hooli", reminders_paused=True, pause_reason="Disputed INV-2")
    make_invoice(initech, "INV-1", due_on=today - datetime.timedelta(days=45))
    make_invoice(
        hooli,
        "INV-2",
        due_on=today - datetime.timedelta(days=5),
        open_balance="2500.00",
        currency="EUR",
    )
    make_email(tenant_a, customer=initech, status=Status.SENT)
    failed = make_email(tenant_a, customer=initech, status=Status.ERROR)
    return {
        "/": "Dashboard",
        "/communications/": "Communications",
        "/communications/?status=error": "Communications, errors",
        f"/communications/{failed.pk}/": "Email detail",
        "/customers/": "Customers",
        f"/customers/{initech.pk}/": "Statement",
        f"/customers/{initech.pk}/?tab=emails": "Statement, EMAILS tab",
        f"/customers/{initech.pk}/edit/": "Customer edit",
        "/reports/aging/": "Aging Report",
        "/imports/": "Imports",
        "/settings/email/outgoing/": "Settings | Email",
        "/settings/reminders/": "Settings | Reminders",
        "/settings/api-tokens/": "API tokens",
    }


def serious_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]


def log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", ADMIN[0])
    page.fill("input[name=password]", ADMIN[1])
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{base_url}/")


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_every_page_passes_axe_and_fits_the_screen(live_server, browser, pages, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        found = {}
        for anonymous_path in ["/accounts/login/", "/accounts/password_reset/"]:
            page.goto(f"{live_server.url}{anonymous_path}")
            if problems := serious_violations(page):
                found[anonymous_path] = problems
            save_shot(page, anonymous_path.strip("/").replace("accounts/", ""), width)
        log_in(page, live_server.url)
        too_wide = []
        for path, name in pages.items():
            response = page.goto(f"{live_server.url}{path}")
            assert response.status == 200, path
            save_shot(page, name, width)
            if problems := serious_violations(page):
                found[path] = problems
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                too_wide.append(f"{path}: {overflow}px wider than the screen")
        assert not found, found
        assert not too_wide, too_wide
    finally:
        context.close()
