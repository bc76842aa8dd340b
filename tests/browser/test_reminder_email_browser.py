"""The reminder email in Chromium, as a phone (390 px) and a desktop client (800 px) show
it: the invoice table and totals visible, no sideways scroll on the phone. Screenshots go
to a temporary directory, or to docs/screenshots/ with SHOTS=1. Then the settings page's
live preview follows what the admin types."""

from __future__ import annotations

import datetime
import os
import struct
import zlib
from decimal import Decimal
from pathlib import Path

import pytest

from dunning.logo import data_url
from dunning.models import ReminderTemplate
from dunning.reminder_look import LOGO_CID
from dunning.reminders import render_reminder
from yaypay_mail.models import Customer, Invoice, Tenant

TODAY = datetime.date(2026, 11, 25)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def shots(tmp_path) -> Path:
    if os.environ.get("SHOTS") == "1":
        folder = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path


@pytest.fixture
def reminder_html(tenant_a) -> str:
    logo = png(160, 48, (26, 93, 201))
    ReminderTemplate.objects.create(
        tenant=tenant_a,
        logo=logo,
        logo_content_type="image/png",
        opening="Our records show {total_overdue} past due, the oldest for "
        "{oldest_days_overdue} days.",
        how_to_pay="Bank transfer to Acme Corp, IBAN DE02 1203 0000 0000 2020 51, "
        "quoting the invoice numbers.",
        contact_line="Questions? Call Jane Doe on +1 555 0100.",
    )
    customer = Customer.objects.create(
        tenant=tenant_a, name="Northwind Traders International", billing_email="ap@nw.example"
    )
    invoices = []
    for number, days, amount, currency in (
        ("INV-2026-000123", 75, "1234567.89", "USD"),
        ("INV-2026-000456", 31, "980.00", "USD"),
        ("INV-2026-000789", 4, "15000.50", "EUR"),
        ("CR-2026-000042", 9, "-1250.00", "USD"),
    ):
        due = TODAY - datetime.timedelta(days=days)
        invoices.append(
            Invoice.objects.create(
                tenant=tenant_a,
                customer=customer,
                number=number,
                issued_on=due - datetime.timedelta(days=30),
                due_on=due,
                amount=Decimal(amount),
                open_balance=Decimal(amount),
                currency=currency,
            )
        )
    tenant = Tenant.objects.get(pk=tenant_a.pk)
    html = render_reminder(
        tenant=tenant,
        customer=customer,
        invoices=[i for i in invoices if i.open_balance > 0],
        credits=[i for i in invoices if i.open_balance < 0],
        today=TODAY,
    ).html
    assert f"cid:{LOGO_CID}" in html
    # A mail client resolves cid: from the message's related part; a browser page cannot.
    return html.replace(f"cid:{LOGO_CID}", data_url(logo, "image/png"))


@pytest.mark.parametrize("width", [390, 800])
def test_the_reminder_reads_well_on_a_phone_and_a_desktop(page, reminder_html, shots, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.set_content(reminder_html)

    table = page.locator("#invoices")
    assert table.is_visible()
    rows = table.locator("tr.invoice")
    assert rows.count() == 3
    eur, usd = table.locator("tbody[data-currency=EUR]"), table.locator("tbody[data-currency=USD]")
    first = usd.locator("tr.invoice").nth(0)
    assert first.inner_text().split("\t")[0].strip() == "INV-2026-000123"
    assert "$1,234,567.89" in first.inner_text()
    credit = usd.locator("tr.credit")
    assert credit.is_visible() and "Credit" in credit.inner_text()
    assert "-$1,250.00" in credit.inner_text()
    balances = table.locator("tr.balance")
    assert balances.nth(0).is_visible() and balances.nth(1).is_visible()
    assert "€15,000.50" in eur.locator("tr.balance").inner_text()
    assert "$1,234,297.89" in usd.locator("tr.balance").inner_text()
    assert page.get_by_text("How to pay").is_visible()
    assert page.get_by_text("Questions? Call Jane Doe on +1 555 0100.").is_visible()
    logo = page.locator("img[alt='Acme Corp']")
    assert logo.is_visible() and logo.evaluate("img => img.naturalWidth") == 160

    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the email scrolls sideways by {overflow}px at {width}px"
    # Every amount on one line, inside the window.
    right = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('#invoices td, #invoices th')]"
        ".map(cell => cell.getBoundingClientRect().right))"
    )
    assert right <= width
    page.screenshot(path=str(shots / f"reminder-email-{width}.png"), full_page=True)


def test_the_settings_page_previews_what_the_admin_types(live_server, page, tenant_a, shots):
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{live_server.url}/settings/reminders/")
    page.fill("input[name=username]", "admin@acme.example")
    page.fill("input[name=password]", "acme-admin-pw-2026")
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/settings/reminders/")

    preview = page.frame_locator("#reminder-preview")
    assert preview.locator("#invoices").is_visible()
    page.fill("#id_opening", "Hello {customer_name}, <b>please</b> pay {total_overdue}.")
    preview.get_by_text("Hello Sample Customer Ltd, <b>please</b> pay").wait_for()
    assert page.locator("#preview-status").inner_text() == "Preview updated."

    page.fill("#id_closing", "Thanks {foo}")
    status = page.locator("#preview-status")
    status.get_by_text("Unknown placeholder {foo}.", exact=False).wait_for()

    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the settings page scrolls sideways by {overflow}px at 390px"
    page.screenshot(path=str(shots / "reminder-settings-390.png"), full_page=True)
    assert not ReminderTemplate.objects.filter(tenant=tenant_a).exists()  # preview saves nothing


def test_the_preview_shows_the_whole_email_on_a_phone(live_server, page, tenant_a, shots):
    ReminderTemplate.objects.create(
        tenant=tenant_a,
        logo=png(160, 48, (26, 93, 201)),
        logo_content_type="image/png",
        opening="Our records show {total_overdue} past due, the oldest for "
        "{oldest_days_overdue} days. After your credits, the balance due is {balance_due}. "
        "Please arrange payment at your earliest convenience.",
        how_to_pay="Bank transfer to Acme Corp, IBAN DE02 1203 0000 0000 2020 51, quoting the "
        "invoice numbers. Cheques payable to Acme Corp, 1 Main Street, Springfield.",
        closing="If you have already paid, thank you, and please ignore this reminder. "
        "If anything on this list looks wrong to you, tell us and we will look into it.",
        contact_line="Questions? Call Jane Doe on +1 555 0100, Monday to Friday.",
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/settings/reminders/")
    page.fill("input[name=username]", "admin@acme.example")
    page.fill("input[name=password]", "acme-admin-pw-2026")
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/settings/reminders/")

    frame = page.locator("#reminder-preview")
    inside = page.frame_locator("#reminder-preview")
    assert inside.get_by_text("CR-1090").is_visible()  # the sample credit note
    page.wait_for_function(
        "() => { const f = document.getElementById('reminder-preview');"
        " const d = f.contentDocument.documentElement;"
        " return d.scrollHeight <= d.clientHeight && f.getBoundingClientRect().height > 900; }"
    )

    def whole() -> bool:
        # The email's last line sits inside the frame: nothing is cut off, and the frame
        # itself does not scroll (its content is no taller or wider than it is).
        return frame.evaluate(
            """f => {
                const doc = f.contentDocument.documentElement;
                const last = [...f.contentDocument.querySelectorAll('p')].pop();
                return doc.scrollHeight <= doc.clientHeight
                    && doc.scrollWidth <= doc.clientWidth
                    && last.getBoundingClientRect().bottom <= f.clientHeight;
            }"""
        )

    assert whole()
    box = frame.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the settings page scrolls sideways by {overflow}px at 390px"

    # Typing a longer text keeps it whole.
    page.fill("#id_closing", "A much longer closing paragraph. " * 12)
    inside.get_by_text("A much longer closing paragraph.", exact=False).first.wait_for()
    page.wait_for_function(
        "() => { const d = document.getElementById('reminder-preview')"
        ".contentDocument.documentElement; return d.scrollHeight <= d.clientHeight; }"
    )
    assert whole()
    frame.screenshot(path=str(shots / "reminder-preview-390.png"))
