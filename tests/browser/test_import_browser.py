"""An admin uploads an invoices file on Imports, reads the preview, confirms, and sees
what changed, in headless Chromium."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yaypay_mail.models import Customer, Invoice

INVOICES = (
    b"invoice_number,customer_id,issue_date,due_date,amount,open_balance,currency,notes\r\n"
    b'INV-1,C-1,2026-01-01,2026-01-31,"$1,234.56","1,234.56",USD,"two\r\nlines"\r\n'
    b"INV-2,C-1,2026-01-05,2026-02-04,(120.00),(120.00),USD,\r\n"
)


@pytest.mark.usefixtures("eager_tasks")
def test_an_admin_imports_invoices_after_reading_the_preview(live_server, page, tenant_a):
    Customer.objects.create(
        tenant=tenant_a, external_id="C-1", name="Northwind", billing_email="ap@nw.example"
    )
    page.goto(f"{live_server.url}/imports/")
    page.fill("input[name=username]", "admin@acme.example")
    page.fill("input[name=password]", "acme-admin-pw-2026")
    page.click("button:has-text('Log in')")
    page.wait_for_url("**/imports/")

    page.set_input_files(
        "input[name=file]",
        files=[{"name": "open-invoices.csv", "mimeType": "text/csv", "buffer": INVOICES}],
    )
    page.select_option("select[name=kind]", "invoices")
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url("**/imports/*/")

    result = page.locator("#result")
    result.wait_for()
    assert "Preview: 2 new, 0 updated, 0 unchanged invoices." in result.inner_text()
    assert page.locator("#unknown-columns").inner_text() == (
        "Ignored columns (not used by the import): notes."
    )
    assert not Invoice.objects.exists()

    page.get_by_role("button", name="Confirm import").click()
    banner = page.locator(".banner-success")
    banner.wait_for()
    assert banner.inner_text() == "Imported: 2 new, 0 updated, 0 unchanged invoices."
    assert page.get_by_role("button", name="Confirm import").count() == 0
    assert sorted(Invoice.objects.values_list("number", "open_balance")) == [
        ("INV-1", Decimal("1234.56")),
        ("INV-2", Decimal("-120.00")),
    ]

    page.get_by_role("link", name="Imports", exact=True).first.click()
    page.wait_for_url("**/imports/")
    row = page.locator("table tbody tr").first
    assert "open-invoices.csv" in row.inner_text() and "Imported" in row.inner_text()
