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
from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from api import tokens
from imports.models import ImportJob, JobStatus
from outbox.models import Status
from routes import secrets
from routes.models import OAuthConnection, OutgoingEmailSettings
from settings_app.models import AuditAction, SettingsAuditEntry
from tests.page_data import make_customer, make_email, make_invoice

ADMIN = ("admin@acme.example", "acme-admin-pw-2026")
SERIOUS = {"serious", "critical"}
# A test message's full reason as the settings' history keeps it: about 60 words.
LONG_REASON = (
    "The mail server closed the connection before the message was sent. It may be "
    "overloaded, or it may refuse connections from YayPay's addresses: ask your IT to "
    "allow the addresses below, check the SMTP Server and Port, and try again in a few "
    "minutes. Server said: 421 4.7.0 Try again later, closing connection because of too "
    "many concurrent connections from this address."
)
LONG_FILE_NAME = "customers_export_from_netsuite_2026-11-30_full_with_all_subsidiaries.csv"
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
    make_email(tenant_a, customer=hooli, status=Status.QUEUED)
    for _ in range(3):
        SettingsAuditEntry.objects.create(
            tenant=tenant_a,
            actor=admin_a,
            action=AuditAction.TESTED,
            result_ok=False,
            result=LONG_REASON,
        )
    SettingsAuditEntry.objects.create(
        tenant=tenant_a,
        actor=admin_a,
        action=AuditAction.CHANGED,
        changed_fields=["use_server", "from_email", "sender_name", "host", "port"],
    )
    job = ImportJob.objects.create(
        tenant=tenant_a,
        actor=admin_a,
        file_name=LONG_FILE_NAME,
        kind="customers",
        sync="full",
        status=JobStatus.DONE,
        rows_total=1200,
        rows_done=1200,
        created=1040,
        updated=120,
        unchanged=40,
        marked_paid=3,
    )
    ImportJob.objects.create(
        tenant=tenant_a,
        actor=admin_a,
        file_name="invoices.csv",
        kind="invoices",
        status=JobStatus.PREVIEWED,
        errors=[{"line": 3, "field": "due_date", "message": "Not a date."}],
        error_count=1,
    )
    tokens.token_create(
        tenant=tenant_a, name="NetSuite nightly sync for all subsidiaries", created_by=admin_a
    )
    revoked, _ = tokens.token_create(tenant=tenant_a, name="Old script", created_by=admin_a)
    tokens.token_revoke(revoked)
    return {
        "/": "Dashboard",
        "/communications/": "Communications",
        "/communications/?status=error": "Communications, errors",
        f"/communications/{failed.pk}/": "Email detail",
        "/customers/": "Customers",
        f"/customers/{initech.pk}/": "Statement",
        f"/customers/{initech.pk}/?tab=emails": "Statement, EMAILS tab",
        f"/customers/{initech.pk}/edit/": "Customer edit",
        f"/customers/{hooli.pk}/": "Statement, paused",
        "/communications/?status=queued": "Communications, queued",
        "/communications/resend/?all_matching=1&status=error": "Bulk resend confirm",
        "/reports/aging/": "Aging Report",
        "/reports/aging/?currency=EUR": "Aging Report, EUR",
        "/imports/": "Imports",
        f"/imports/{job.pk}/": "Import detail",
        "/settings/email/outgoing/": "Settings | Email",
        "/settings/reminders/": "Settings | Reminders",
        "/settings/api-tokens/": "API tokens",
        # Pages a form posts to: (path, posted fields) -> name.
        (f"/customers/{initech.pk}/pause/", ()): "Pause refused",
        ("/settings/api-tokens/", (("name", "Reporting"),)): "API token created",
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


ANONYMOUS_PAGES = [
    "/accounts/login/",
    "/accounts/password_reset/",
    "/accounts/password_reset/done/",
    "/accounts/reset/MQ/not-a-token/",  # an expired or unknown link
    "/accounts/reset/done/",
]


def check_width(page, path: str, too_wide: list[str]) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        too_wide.append(f"{path}: {overflow}px wider than the screen")


def post_from_page(page, base_url: str, path: str, fields) -> None:
    """POST as the page's own form would (with its CSRF token) and wait for the answer."""
    page.goto(f"{base_url}/")
    with page.expect_navigation():
        page.evaluate(
            """([action, fields]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                const pairs = [["csrfmiddlewaretoken",
                    document.querySelector("[name=csrfmiddlewaretoken]").value], ...fields];
                for (const [name, value] of pairs) {
                    const input = document.createElement("input");
                    input.type = "hidden";
                    input.name = name;
                    input.value = value;
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            [path, [list(pair) for pair in fields]],
        )


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_every_page_passes_axe_and_fits_the_screen(
    live_server, browser, pages, admin_a, width, height
):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(20_000)
    too_wide: list[str] = []
    not_shown: list[str] = []
    try:
        found = {}
        uid = urlsafe_base64_encode(force_bytes(admin_a.pk))
        token = default_token_generator.make_token(admin_a)
        # A good link: Django moves it to .../set-password/ with the new-password form.
        for anonymous_path in [*ANONYMOUS_PAGES, f"/accounts/reset/{uid}/{token}/"]:
            page.goto(f"{live_server.url}{anonymous_path}")
            if problems := serious_violations(page):
                found[anonymous_path] = problems
            save_shot(page, anonymous_path.strip("/").replace("accounts/", ""), width)
            check_width(page, anonymous_path, too_wide)
        log_in(page, live_server.url)
        for path, name in pages.items():
            if isinstance(path, tuple):
                path, fields = path
                post_from_page(page, live_server.url, path, fields)
            else:
                response = page.goto(f"{live_server.url}{path}")
                if response.status != 200:
                    not_shown.append(f"{path}: {response.status}")
                    continue
            save_shot(page, name, width)
            if problems := serious_violations(page):
                found[path] = problems
            check_width(page, path, too_wide)
        assert not not_shown, not_shown
        assert not found, found
        assert not too_wide, too_wide
    finally:
        context.close()
