"""Rows the Imports page refuses with a row error that says why (nothing is imported
from such a file): amounts too large for the columns, dates outside 1900-2200,
invisible control characters in names, more recipients than one message may have.
And the history counts only what an import changed."""

from __future__ import annotations

import pytest

from imports.models import JobStatus
from tests.imports.conftest import CUSTOMERS_HEADER, INVOICES_HEADER, csv_bytes, visible_text
from yaypay_mail.models import Customer, Invoice


@pytest.fixture
def customer_c1(tenant_a):
    return Customer.objects.create(
        tenant=tenant_a, external_id="C-1", name="Northwind", billing_email="ap@nw.example"
    )


def test_a_27_digit_amount_is_a_row_error_naming_the_limit(upload, customer_c1):
    uploaded = upload(
        csv_bytes(
            INVOICES_HEADER,
            "INV-1,C-1,2026-03-01,2026-03-31,100.00,100.00,USD",
            f"INV-2,C-1,2026-03-01,2026-03-31,{'1' * 27},,USD",
        ),
        kind="invoices",
    )
    assert uploaded.job.status == JobStatus.PREVIEWED  # checked, not "stopped unexpectedly"
    assert "line 3, amount: " in uploaded.page
    assert "is too large: at most 12 digits before the decimal point" in uploaded.page
    assert "Nothing was imported: 1 row has errors." in uploaded.page
    assert "Confirm import" not in uploaded.page
    assert not Invoice.objects.exists()


def test_dates_outside_1900_to_2200_are_row_errors(upload, customer_c1):
    uploaded = upload(
        csv_bytes(
            INVOICES_HEADER,
            "INV-1,C-1,1899-12-31,2026-03-31,100.00,,USD",
            "INV-2,C-1,2026-03-01,31/12/2201,100.00,,USD",
        ),
        kind="invoices",
        date_format="dmy",
    )
    assert "line 2, issue_date: 1899-12-31 is outside the years 1900 to 2200" in uploaded.page
    assert "line 3, due_date: 31/12/2201 is outside the years 1900 to 2200" in uploaded.page
    assert not Invoice.objects.exists()


def test_a_name_with_a_bidi_override_is_a_row_error(upload, tenant_a):
    uploaded = upload(
        csv_bytes(
            CUSTOMERS_HEADER,
            "C-1,Northwind,ap@nw.example,,no",
            "C-2,Contoso\u202egnp.exe,ap@contoso.example,,no",
            "C-3,Zero\u200bWidth,ap@zw.example,,no",
        )
    )
    assert "line 3, name: Invisible or text-direction control characters are not allowed" in (
        uploaded.page
    )
    assert "(found U+202E)" in uploaded.page
    assert "line 4, name:" in uploaded.page and "(found U+200B)" in uploaded.page
    assert not Customer.objects.exists()


def test_more_than_50_recipients_is_a_row_error(upload, tenant_a):
    cc = ";".join(f"cc{n}@nw.example" for n in range(50))
    uploaded = upload(csv_bytes(CUSTOMERS_HEADER, f'C-1,Northwind,ap@nw.example,"{cc}",no'))
    assert "line 2, cc_emails: A reminder can have at most 50 addresses in To and Cc together" in (
        uploaded.page
    )
    assert not Customer.objects.exists()


def test_the_history_shows_no_counts_for_an_import_that_imported_nothing(
    upload, confirm, admin_client_a, customer_c1
):
    # One good row and one bad: the check counts the good one as new, yet nothing is imported.
    upload(
        csv_bytes(
            CUSTOMERS_HEADER, "C-7,Contoso,ap@contoso.example,,no", "C-8,Bad,not-an-email,,no"
        ),
        name="half-bad.csv",
    )
    # A file that passed the check, then failed when confirmed (the data changed meanwhile).
    passed = upload(
        csv_bytes(INVOICES_HEADER, "INV-1,C-1,2026-03-01,2026-03-31,100.00,,USD"),
        kind="invoices",
        name="changed.csv",
    ).job
    customer_c1.delete()
    confirm(passed)
    assert passed.status == JobStatus.FAILED
    page = visible_text(admin_client_a.get("/imports/"))
    assert "half-bad.csv customers 0 0 0 1 error, nothing imported" in page
    assert "changed.csv invoices 0 0 0 1 error, nothing imported" in page
    assert Customer.objects.filter(external_id="C-7").exists() is False
