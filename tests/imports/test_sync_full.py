"""sync=full: open invoices missing from an export are marked paid, listed first; a
reminder queued for one of them ends Cancelled when the worker picks it up."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from dunning.reminders import schedule_reminders
from outbox.delivery import deliver_due
from outbox.models import OutboundEmail, Status
from tests.communications.outbox_helpers import use_smtp
from tests.imports.conftest import INVOICES_HEADER, csv_bytes
from yaypay_mail.models import Customer, Invoice


@pytest.fixture
def invoices(tenant_a):
    customer = Customer.objects.create(
        tenant=tenant_a, external_id="C-1", name="Northwind", billing_email="ap@nw.example"
    )
    today = timezone.localdate()
    made = {}
    for number, days_late, balance in [
        ("I-1", 40, "100.00"),
        ("I-2", 20, "50.00"),
        ("I-3", 10, "0.00"),
    ]:
        due = today - datetime.timedelta(days=days_late)
        made[number] = Invoice.objects.create(
            tenant=tenant_a,
            customer=customer,
            number=number,
            issued_on=due,
            due_on=due,
            amount=Decimal("100.00"),
            open_balance=Decimal(balance),
        )
    return made


def export_listing(*numbers: str) -> bytes:
    today = timezone.localdate().isoformat()
    return csv_bytes(
        INVOICES_HEADER, *[f"{n},C-1,{today},{today},100.00,100.00,USD" for n in numbers]
    )


def test_full_sync_lists_then_marks_missing_open_invoices_paid(upload, confirm, invoices):
    uploaded = upload(export_listing("I-1"), kind="invoices", sync="full")
    assert "Preview: 0 new, 1 updated, 0 unchanged invoices." in uploaded.page
    assert "1 invoice will be marked paid." in uploaded.page
    assert "Invoices to mark paid I-2" in uploaded.page  # I-3 is paid already
    assert Invoice.objects.get(number="I-2").open_balance == Decimal("50.00")

    page = confirm(uploaded.job)
    assert "Imported: 0 new, 1 updated, 0 unchanged invoices. 1 invoice was marked paid." in page
    assert "Invoices marked paid I-2" in page
    i2 = Invoice.objects.get(number="I-2")
    assert (i2.paid, i2.open_balance) == (True, Decimal("0.00"))
    assert Invoice.objects.get(number="I-1").paid is False


def test_without_the_checkbox_missing_invoices_stay_open(upload, confirm, invoices):
    uploaded = upload(export_listing("I-1"), kind="invoices")
    assert "marked paid" not in uploaded.page
    confirm(uploaded.job)
    assert Invoice.objects.get(number="I-2").paid is False


def test_a_reminder_for_an_invoice_paid_by_import_is_cancelled_at_send(
    upload, confirm, tenant_a, invoices, starttls_server
):
    use_smtp(tenant_a, starttls_server.port)
    Invoice.objects.filter(number="I-1").delete()  # the customer owes only I-2 now
    assert schedule_reminders(tenant=tenant_a) == 1
    confirm(upload(export_listing("I-9"), kind="invoices", sync="full").job)
    assert Invoice.objects.get(number="I-2").paid is True

    assert deliver_due(tenant_id=tenant_a.pk) == 0
    reminder = OutboundEmail.objects.get(tenant=tenant_a)
    assert reminder.status == Status.CANCELLED
    assert reminder.error_message == "All its invoices were paid before it was sent."
    assert starttls_server.received == []
