"""The Imports page preselects how amounts and dates look from the tenant's locale; an
option a request leaves out still means the documented default (point, iso)."""

from __future__ import annotations

import re

import pytest

from dunning.models import ReminderSettings
from imports.forms import locale_defaults
from tests.imports.conftest import INVOICES_HEADER, csv_bytes
from yaypay_mail.models import Customer, Invoice


def selected(page: str, name: str) -> str:
    select = re.search(rf'<select name="{name}".*?</select>', page, flags=re.S).group(0)
    return re.search(r'<option value="([^"]*)" selected>', select).group(1)


def set_locale(tenant, locale: str) -> None:
    ReminderSettings.objects.update_or_create(tenant=tenant, defaults={"locale": locale})


@pytest.mark.parametrize(
    "locale,decimal,date_format",
    [("en_US", "point", "mdy"), ("en_GB", "point", "dmy"), ("de_DE", "comma", "dmy")],
)
def test_the_page_preselects_the_tenants_way(
    admin_client_a, tenant_a, locale, decimal, date_format
):
    set_locale(tenant_a, locale)
    page = admin_client_a.get("/imports/").content.decode()
    assert selected(page, "decimal") == decimal
    assert selected(page, "date_format") == date_format
    assert selected(page, "encoding") == "auto"


def test_another_tenants_locale_does_not_apply(admin_client_a, tenant_a, tenant_b):
    set_locale(tenant_b, "de_DE")
    page = admin_client_a.get("/imports/").content.decode()
    assert selected(page, "decimal") == "point"


def test_a_german_tenant_imports_its_file_with_the_preselected_formats(
    admin_client_a, tenant_a, upload, confirm
):
    set_locale(tenant_a, "de_DE")
    Customer.objects.create(
        tenant=tenant_a, external_id="C-1", name="Northwind", billing_email="ap@nw.example"
    )
    content = csv_bytes(INVOICES_HEADER, 'I-1,C-1,02/01/2026,31/03/2026,"1.234,56","1.000,5",EUR')
    initial = locale_defaults("de_DE")
    confirm(
        upload(
            content,
            kind="invoices",
            decimal=initial["decimal"],
            date_format=initial["date_format"],
        ).job
    )
    invoice = Invoice.objects.get()
    assert str(invoice.open_balance) == "1000.50"
    assert invoice.due_on.isoformat() == "2026-03-31"


def test_left_out_options_keep_the_documented_defaults_whatever_the_locale(
    tenant_a, upload, confirm
):
    set_locale(tenant_a, "de_DE")
    Customer.objects.create(
        tenant=tenant_a, external_id="C-1", name="Northwind", billing_email="ap@nw.example"
    )
    content = csv_bytes(INVOICES_HEADER, "I-1,C-1,2026-01-02,2026-03-31,1234.56,1000.5,EUR")
    confirm(upload(content, kind="invoices").job)
    invoice = Invoice.objects.get()
    assert str(invoice.open_balance) == "1000.50"
