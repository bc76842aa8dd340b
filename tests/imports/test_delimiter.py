"""Files separated by semicolons (Excel in much of Europe) or tabs, detected or chosen,
on the Imports page and in import_csv."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.imports.conftest import csv_bytes
from yaypay_mail.models import Customer, Invoice

SEMICOLON_CUSTOMERS = csv_bytes(
    "customer_id;name;billing_email;cc_emails;reminders_paused",
    "C-1;Müller GmbH;buchhaltung@mueller.example;chef@mueller.example, ap@mueller.example;no",
    "C-2;Dupont, Fils et Cie;compta@dupont.example;;yes",
)
# What Excel writes in Germany: semicolons, a decimal comma with dot groups, day first.
EUROPEAN_INVOICES = csv_bytes(
    "Invoice_Number;Customer_ID;Issue_Date;Due_Date;Amount;Open_Balance;Currency",
    "RE-1;C-1;01/02/2026;28/02/2026;1.234,56;1.234,56;EUR",
    "RE-2;C-1;01/03/2026;31/03/2026;99,5;0;EUR",
    encoding="windows-1252",
    newline="\r\n",
)


def test_a_semicolon_file_is_detected_and_imported(upload, confirm, tenant_a):
    uploaded = upload(SEMICOLON_CUSTOMERS)
    assert "Preview: 2 new, 0 updated, 0 unchanged customers." in uploaded.page
    confirm(uploaded.job)
    assert uploaded.job.options["delimiter_used"] == "semicolon"
    mueller = Customer.objects.get(tenant=tenant_a, external_id="C-1")
    assert mueller.cc_emails == ["chef@mueller.example", "ap@mueller.example"]
    assert Customer.objects.get(external_id="C-2").name == "Dupont, Fils et Cie"


def test_a_european_invoices_file_imports_with_decimal_comma_and_dmy(upload, confirm, tenant_a):
    Customer.objects.create(
        tenant=tenant_a, external_id="C-1", name="Müller", billing_email="ap@mueller.example"
    )
    uploaded = upload(
        EUROPEAN_INVOICES, kind="invoices", delimiter="auto", decimal="comma", date_format="dmy"
    )
    assert "Preview: 2 new, 0 updated, 0 unchanged invoices." in uploaded.page
    confirm(uploaded.job)
    first = Invoice.objects.get(tenant=tenant_a, number="RE-1")
    assert (first.amount, first.open_balance) == (Decimal("1234.56"), Decimal("1234.56"))
    assert first.due_on == datetime.date(2026, 2, 28)
    second = Invoice.objects.get(number="RE-2")
    assert (second.amount, second.paid, second.issued_on) == (
        Decimal("99.50"),
        True,
        datetime.date(2026, 3, 1),
    )


def test_a_tab_separated_file_is_detected(upload, confirm, tenant_a):
    content = csv_bytes("customer_id\tname\tbilling_email", "C-1\tNorthwind, Inc.\tap@nw.example")
    confirm(upload(content).job)
    assert Customer.objects.get(tenant=tenant_a).name == "Northwind, Inc."


@pytest.mark.parametrize("delimiter", ["semicolon", "auto"])
def test_the_delimiter_can_be_chosen(upload, confirm, tenant_a, delimiter):
    confirm(upload(SEMICOLON_CUSTOMERS, delimiter=delimiter).job)
    assert Customer.objects.filter(tenant=tenant_a).count() == 2


def test_a_wrong_choice_is_refused_with_a_hint(upload, tenant_a):
    uploaded = upload(SEMICOLON_CUSTOMERS, delimiter="comma")
    assert uploaded.response.status_code == 400
    assert "The file has no customer_id, name, billing_email columns." in uploaded.page
    assert "Its values seem separated by semicolons, not commas" in uploaded.page
    assert not Customer.objects.exists()


def test_missing_columns_are_named_in_plain_words(upload):
    uploaded = upload(csv_bytes("invoice_number;amount", "INV-1;10"), kind="invoices")
    assert "The file has no customer_id, due_date columns." in uploaded.page
    assert "A file of invoices needs the columns invoice_number, customer_id" in uploaded.page
    assert "A invoices" not in uploaded.page


def test_an_unknown_delimiter_is_a_field_error(upload):
    uploaded = upload(SEMICOLON_CUSTOMERS, delimiter="pipe")
    assert uploaded.response.status_code == 400
    assert "Select a valid choice." in uploaded.page


def test_the_page_offers_the_choices(admin_client_a):
    page = admin_client_a.get("/imports/").content.decode()
    for value in ("auto", "comma", "semicolon", "tab"):
        assert f'<option value="{value}"' in page
    assert '<option value="auto" selected>' in page


def run(path, *options):
    out = StringIO()
    call_command(
        "import_csv", str(path), "--tenant", "acme corp", *options, stdout=out, stderr=StringIO()
    )
    return out.getvalue()


def test_the_command_detects_and_takes_delimiter(tmp_path, tenant_a):
    path = tmp_path / "kunden.csv"
    path.write_bytes(SEMICOLON_CUSTOMERS)
    out = run(path, "--kind", "customers")
    assert "Imported: 2 new, 0 updated, 0 unchanged customers." in out
    assert "0 new, 0 updated, 2 unchanged" in run(
        path, "--kind", "customers", "--delimiter", "semicolon"
    )
    with pytest.raises(CommandError, match="seem separated by semicolons"):
        run(path, "--kind", "customers", "--delimiter", "tab")


def test_the_command_imports_a_european_invoices_file(tmp_path, tenant_a):
    Customer.objects.create(
        tenant=tenant_a, external_id="C-1", name="Müller", billing_email="ap@mueller.example"
    )
    path = tmp_path / "rechnungen.csv"
    path.write_bytes(EUROPEAN_INVOICES)
    out = run(path, "--kind", "invoices", "--decimal", "comma", "--date-format", "dmy")
    assert "Imported: 2 new" in out
    assert Invoice.objects.get(number="RE-1").amount == Decimal("1234.56")
