"""The Imports page end to end: upload, the check's preview, confirm, what changed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from imports.models import ImportJob, StagedRow
from tests.imports.conftest import CUSTOMERS_HEADER, INVOICES_HEADER, csv_bytes, visible_text
from yaypay_mail.models import Customer, CustomerChange, Invoice

CUSTOMERS = csv_bytes(
    CUSTOMERS_HEADER,
    "C-1,Northwind Traders,AP@Northwind.Example,Controller@Northwind.example,no",
    "C-2,Contoso Ltd,billing@contoso.example,,yes",
)


@pytest.fixture
def customer_c1(tenant_a):
    return Customer.objects.create(
        tenant=tenant_a, external_id="C-1", name="Northwind", billing_email="ap@nw.example"
    )


def test_an_upload_shows_a_preview_and_confirming_imports_it(upload, confirm, tenant_a, admin_a):
    uploaded = upload(CUSTOMERS, name="customers.csv")
    assert "Preview: 2 new, 0 updated, 0 unchanged customers." in uploaded.page
    assert "Confirm import" in uploaded.page
    assert not Customer.objects.filter(tenant=tenant_a).exists()

    page = confirm(uploaded.job)
    assert "Imported: 2 new, 0 updated, 0 unchanged customers." in page
    assert "Confirm import" not in page
    northwind = Customer.objects.get(tenant=tenant_a, external_id="C-1")
    assert northwind.name == "Northwind Traders"
    assert northwind.billing_email == "ap@northwind.example"
    assert northwind.cc_emails == ["controller@northwind.example"]
    assert Customer.objects.get(external_id="C-2").reminders_paused is True
    change = CustomerChange.objects.filter(customer=northwind).get()
    assert (change.source, change.actor) == ("import", admin_a)
    assert not StagedRow.objects.exists()  # dropped once the job is done


def test_the_same_file_again_changes_nothing(upload, confirm, tenant_a):
    confirm(upload(CUSTOMERS).job)
    again = upload(CUSTOMERS)
    assert "Preview: 0 new, 0 updated, 2 unchanged customers." in again.page
    assert "Imported: 0 new, 0 updated, 2 unchanged customers." in confirm(again.job)
    assert Customer.objects.filter(tenant=tenant_a).count() == 2


def test_the_history_lists_who_imported_what(upload, confirm, admin_client_a):
    confirm(upload(CUSTOMERS, name="may-customers.csv").job)
    upload(csv_bytes(CUSTOMERS_HEADER, "C-3,Bad,not-an-email,,no"), name="bad.csv")
    page = visible_text(admin_client_a.get("/imports/"))
    assert "Recent imports" in page
    assert "admin@acme.example may-customers.csv customers 2 0 0 Imported" in page
    assert "bad.csv customers 0 0 0 1 error, nothing imported" in page


def test_the_progress_endpoint_counts_rows(upload, admin_client_a):
    job = upload(CUSTOMERS).job
    assert admin_client_a.get(f"/imports/{job.pk}/status.json").json() == {
        "status": "previewed",
        "rows_done": 2,
        "rows_total": 2,
        "running": False,
    }


def test_a_running_check_shows_a_progress_bar_that_refreshes_without_javascript(
    tenant_a, admin_a, admin_client_a
):
    job = ImportJob.objects.create(
        tenant=tenant_a,
        actor=admin_a,
        file_name="big.csv",
        kind="invoices",
        status="previewing",
        rows_total=5000,
        rows_done=2000,
    )
    response = admin_client_a.get(f"/imports/{job.pk}/")
    assert "Checking the file… 2000 of 5000 rows" in visible_text(response)
    assert b'<progress id="progress-bar" max="5000" value="2000">' in response.content
    assert b'<meta http-equiv="refresh" content="2">' in response.content


# --- the quirks of real files ------------------------------------------------------


def test_bom_crlf_blank_lines_spaces_and_mixed_case_emails(upload, confirm, tenant_a):
    content = (
        b"\xef\xbb\xbf Customer_ID , NAME ,Billing_Email\r\n"
        b"\r\n"
        b"  C-1 ,  Northwind Traders  , AP@Northwind.EXAMPLE \r\n"
        b",,\r\n"
        b"C-2,Contoso,Billing@Contoso.example\r\n"
    )
    uploaded = upload(content)
    assert "Preview: 2 new, 0 updated, 0 unchanged customers." in uploaded.page
    confirm(uploaded.job)
    assert list(
        Customer.objects.filter(tenant=tenant_a).values_list("external_id", "name", "billing_email")
    ) == [
        ("C-2", "Contoso", "billing@contoso.example"),
        ("C-1", "Northwind Traders", "ap@northwind.example"),
    ]


def test_windows_1252_is_detected(upload, confirm, tenant_a):
    content = csv_bytes(
        "customer_id,name,billing_email", "C-1,Café Société €,ap@cafe.example", encoding="cp1252"
    )
    confirm(upload(content).job)
    assert Customer.objects.get(tenant=tenant_a).name == "Café Société €"


def test_a_windows_1252_file_declared_utf8_is_refused(upload, tenant_a):
    content = csv_bytes(
        "customer_id,name,billing_email", "C-1,Café,a@cafe.example", encoding="cp1252"
    )
    uploaded = upload(content, encoding="utf-8")
    assert uploaded.response.status_code == 400
    assert (
        "Nothing was imported. line 2: this is not UTF-8 text; choose another encoding (or Detect)"
        in uploaded.page
    )
    assert not ImportJob.objects.exists()


def test_quoted_commas_quotes_and_line_breaks_keep_line_numbers_right(upload, tenant_a):
    content = csv_bytes(
        "customer_id,name,billing_email,notes",
        'C-1,"Acme, Inc.",ap@acme.example,"called twice,',
        "promised to pay",
        'next week"',
        'C-2,"The ""Best"" Co",ap@best.example,',
        "C-3,Broken,not-an-email,",
    )
    uploaded = upload(content)
    assert "line 6, billing_email: not-an-email is not a valid email address" in uploaded.page
    assert "Ignored columns (not used by the import): notes." in uploaded.page
    assert "Confirm import" not in uploaded.page


def test_amounts_in_their_usual_spellings(upload, confirm, customer_c1):
    content = csv_bytes(
        INVOICES_HEADER,
        'I-1,C-1,2026-01-01,2026-01-31,"1,234.56","1,234.56",USD',
        'I-2,C-1,2026-01-01,2026-01-31,"$1,234.56",$100.00,usd',
        "I-3,C-1,2026-01-01,2026-01-31,1234.5,1234.5,EUR",
        "CR-4,C-1,2026-01-01,2026-01-31,(120.00),(120.00),",
    )
    uploaded = upload(content, kind="invoices")
    assert "Preview: 4 new, 0 updated, 0 unchanged invoices." in uploaded.page
    confirm(uploaded.job)
    assert {
        i.number: (i.amount, i.open_balance, i.currency, i.paid) for i in Invoice.objects.all()
    } == {
        "I-1": (Decimal("1234.56"), Decimal("1234.56"), "USD", False),
        "I-2": (Decimal("1234.56"), Decimal("100.00"), "USD", False),
        "I-3": (Decimal("1234.50"), Decimal("1234.50"), "EUR", False),
        "CR-4": (Decimal("-120.00"), Decimal("-120.00"), "USD", False),  # the tenant's default
    }


@pytest.mark.parametrize(
    ("options", "issue", "due"),
    [
        ({"date_format": "mdy"}, "01/02/2026", "03/31/2026"),
        ({"date_format": "dmy"}, "02/01/2026", "31/03/2026"),
        ({"date_format": "iso"}, "2026-01-02", "2026-03-31"),
    ],
)
def test_date_formats(upload, confirm, customer_c1, options, issue, due):
    content = csv_bytes(INVOICES_HEADER, f"I-1,C-1,{issue},{due},10,10,USD")
    confirm(upload(content, kind="invoices", **options).job)
    invoice = Invoice.objects.get()
    assert (invoice.issued_on.isoformat(), invoice.due_on.isoformat()) == (
        "2026-01-02",
        "2026-03-31",
    )


def test_decimal_comma(upload, confirm, customer_c1):
    content = csv_bytes(INVOICES_HEADER, 'I-1,C-1,02/01/2026,31/03/2026,"1.234,56","1.000,5",EUR')
    confirm(upload(content, kind="invoices", decimal="comma", date_format="dmy").job)
    invoice = Invoice.objects.get()
    assert (invoice.amount, invoice.open_balance) == (Decimal("1234.56"), Decimal("1000.50"))


# --- bad input: a line-numbered reason, and nothing imported ------------------------

LONG_NAME = "N" * 201


@pytest.mark.parametrize(
    ("kind", "rows", "reason"),
    [
        ("customers", ["C-9,,ap@x.example,,no"], "line 3, name: is required"),
        (
            "customers",
            ["C-9,X,ap@@x,,no"],
            "line 3, billing_email: ap@@x is not a valid email address",
        ),
        (
            "customers",
            ["C-9,X,ap@x.example,cc@x.example;bad,no"],
            "line 3, cc_emails: bad is not a valid email address",
        ),
        (
            "customers",
            ['C-9,"Two\nLines",ap@x.example,,no'],
            "line 3, name: line breaks and control characters are not allowed",
        ),
        (
            "customers",
            [f"C-9,{LONG_NAME},ap@x.example,,no"],
            "line 3, name: is longer than 200 characters",
        ),
        (
            "customers",
            ["C-9,X,ap@x.example,,maybe"],
            "line 3, reminders_paused: maybe is not yes/no, true/false or 1/0",
        ),
        (
            "customers",
            ["C-1,Again,ap@x.example,,no"],
            "line 3, customer_id: C-1 appears more than once (first at 2)",
        ),
        (
            "customers",
            ["C-9,X,ap@x.example,no"],
            "line 3: has 4 values but the header has 5 columns",
        ),
        (
            "invoices",
            ["I-9,C-404,2026-01-01,2026-02-01,10,10,USD"],
            "line 3, customer_id: C-404 is not a customer of yours (import customers first)",
        ),
        (
            "invoices",
            ["I-1,C-1,2026-01-01,2026-02-01,10,10,USD"],
            "line 3, invoice_number: I-1 appears more than once (first at 2)",
        ),
        (
            "invoices",
            ["I-9,C-1,2026-01-01,31/02/2026,10,10,USD"],
            "line 3, due_date: 31/02/2026 is not a date (YYYY-MM-DD)",
        ),
        (
            "invoices",
            ["I-9,C-1,2026-01-01,2026-02-01,(10.00),(20.00),USD"],
            "line 3, open_balance: a credit of -20.00 is larger than the amount -10.00",
        ),
        (
            "invoices",
            ["I-9,C-1,2026-01-01,2026-02-01,10,10,XYZ"],
            "line 3, currency: XYZ is not an ISO 4217 currency code",
        ),
        ("invoices", ["I-9,C-1,2026-01-01,2026-02-01,,10,USD"], "line 3, amount: is required"),
        (
            "invoices",
            ["I-9,C-1,2026-01-01,2026-02-01,1,234.56,1,USD"],
            "line 3: has 8 values but the header has 7 columns (is a comma inside a value not quoted?)",
        ),
    ],
)
def test_an_invalid_row_is_named_by_line_and_nothing_is_imported(
    upload, admin_client_a, customer_c1, kind, rows, reason
):
    first = (
        "C-1,Northwind,ap@nw.example,,no"
        if kind == "customers"
        else "I-1,C-1,2026-01-01,2026-02-01,10,10,USD"
    )
    header = CUSTOMERS_HEADER if kind == "customers" else INVOICES_HEADER
    uploaded = upload(csv_bytes(header, first, *rows), kind=kind)
    assert reason in uploaded.page
    assert "Nothing was imported: 1 row has errors." in uploaded.page
    assert "Confirm import" not in uploaded.page
    # Confirming anyway (a forged POST) imports nothing either.
    admin_client_a.post(f"/imports/{uploaded.job.pk}/confirm/")
    assert Customer.objects.count() == 1 and Invoice.objects.count() == 0
    assert Customer.objects.get().name == "Northwind"


def test_an_over_long_cell_is_named_by_line(upload, customer_c1):
    uploaded = upload(
        csv_bytes(
            CUSTOMERS_HEADER, "C-1,A,a@a.example,,no", "C-2," + "x" * 70_000 + ",b@b.example,,no"
        )
    )
    assert "line 3, name: a value is longer than 65,536 characters" in uploaded.page
    assert Customer.objects.get().name == "Northwind"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200,
            "This is not a CSV file (it looks like a spreadsheet/binary). Export it as CSV.",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200,
            "This is not a CSV file (it looks like a spreadsheet/binary). Export it as CSV.",
        ),
        (
            b"customer_id,name,billing_email\nC-1,A\x00B,a@a.example\n",
            "This is not a CSV file (it looks like a spreadsheet/binary). Export it as CSV.",
        ),
        (b"customer_id,name\nC-1,A\n", "The file has no billing_email column."),
        (
            b"customer_id,name,Name,billing_email\nC-1,A,B,a@a.example\n",
            "line 1: the column name appears twice (columns 2 and 3)",
        ),
        (b"\r\n\r\n", "The file is empty"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_on_the_form(upload, content, reason):
    uploaded = upload(content)
    assert uploaded.response.status_code == 400
    assert f"Nothing was imported. {reason}" in uploaded.page
    assert not ImportJob.objects.exists() and not StagedRow.objects.exists()


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(upload, settings):
    settings.IMPORT_MAX_BYTES = 1024
    uploaded = upload(
        csv_bytes(CUSTOMERS_HEADER, *[f"C-{n},Name {n},a{n}@x.example,,no" for n in range(100)])
    )
    assert uploaded.response.status_code == 400
    assert "The file is 0.0 MB; the limit is 0 MB. Split it into smaller files." in uploaded.page
    assert not ImportJob.objects.exists()


def test_confirming_checks_again_against_the_data_as_it_is_then(upload, confirm, customer_c1):
    uploaded = upload(
        csv_bytes(INVOICES_HEADER, "I-1,C-1,2026-01-01,2026-02-01,10,10,USD"), kind="invoices"
    )
    assert "Preview: 1 new" in uploaded.page
    customer_c1.delete()  # meanwhile, someone removed the customer
    page = confirm(uploaded.job)
    assert "Nothing was imported: checked again against your current data" in page
    assert "line 2, customer_id: C-1 is not a customer of yours (import customers first)" in page
    assert uploaded.job.status == "failed" and not Invoice.objects.exists()
    assert not StagedRow.objects.exists()


def test_sync_full_needs_an_invoices_file(upload):
    uploaded = upload(CUSTOMERS, sync="full")
    assert uploaded.response.status_code == 400
    assert "Marking missing invoices as paid works with an invoices file only." in uploaded.page
