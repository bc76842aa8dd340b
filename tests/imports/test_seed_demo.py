"""seed_demo imports demo/customers.csv and demo/invoices.csv through the importer."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from yaypay_mail.models import Customer, CustomerChange, Invoice, Tenant

LOGINS = (
    "  admin      admin@demo.example  /  demo-admin-2026\n"
    "  collector  collector@demo.example  /  demo-collector-2026\n"
)


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_imports_the_shipped_files_with_dates_around_today(db):
    out = seed()
    assert out == "Demo tenant 'Demo Co' with 5 customers. Logins:\n" + LOGINS
    demo = Tenant.objects.get(name="Demo Co")
    assert sorted(Customer.objects.filter(tenant=demo).values_list("external_id", flat=True)) == [
        "C-1001",
        "C-1002",
        "C-1003",
        "C-1004",
        "C-1005",
    ]
    assert Customer.objects.get(external_id="C-1003").reminders_paused is True
    today = timezone.localdate()
    inv = Invoice.objects.get(tenant=demo, number="INV-1001")
    assert inv.due_on == today - datetime.timedelta(days=45)
    assert Invoice.objects.get(number="INV-1008").due_on == today + datetime.timedelta(days=20)
    credit = Invoice.objects.get(number="CR-1009")
    assert (credit.amount, credit.open_balance) == (Decimal("-120.00"), Decimal("-120.00"))
    assert Invoice.objects.filter(tenant=demo, open_balance__gt=0, due_on__lt=today).count() == 6
    assert CustomerChange.objects.filter(source="import").count() == 5


def test_seed_demo_again_changes_nothing(db):
    seed()
    changes = CustomerChange.objects.count()
    assert seed().endswith(LOGINS)
    assert CustomerChange.objects.count() == changes
    assert Customer.objects.count() == 5 and Invoice.objects.count() == 9


def test_seed_demo_adopts_customers_seeded_before_they_had_ids(db):
    demo = Tenant.objects.create(name="Demo Co")
    old = Customer.objects.create(
        tenant=demo, name="Northwind Traders", billing_email="ap@northwind.example"
    )
    seed()
    old.refresh_from_db()
    assert old.external_id == "C-1001"
    assert Customer.objects.filter(tenant=demo).count() == 5
