"""Daily reminders: who gets one, what it says, the N-day gap, and paid invoices."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from dunning.reminders import schedule_reminders
from dunning.services import reminder_settings_for
from outbox.delivery import deliver_due
from outbox.models import Kind, OutboundEmail, Status
from tests.communications.outbox_helpers import use_smtp
from yaypay_mail.models import Customer, Invoice

TODAY = datetime.date(2026, 11, 25)


def invoice(customer, number, *, days_late, open_balance="100.00", currency="USD", paid=False):
    due = TODAY - datetime.timedelta(days=days_late)
    return Invoice.objects.create(
        tenant=customer.tenant,
        customer=customer,
        number=number,
        issued_on=due - datetime.timedelta(days=30),
        due_on=due,
        amount=Decimal(open_balance),
        open_balance=Decimal(0) if paid else Decimal(open_balance),  # paid: nothing open
        currency=currency,
    )


@pytest.fixture
def customers(tenant_a):
    northwind = Customer.objects.create(
        tenant=tenant_a,
        name="Northwind",
        billing_email="ap@northwind.example",
        cc_emails=["cfo@northwind.example"],
    )
    invoice(northwind, "INV-1", days_late=45, open_balance="1200.00")
    invoice(northwind, "INV-2", days_late=3, open_balance="50.50")
    invoice(northwind, "INV-3", days_late=10, open_balance="700.00", currency="EUR")
    invoice(northwind, "INV-4", days_late=-5)  # not yet due
    paused = Customer.objects.create(
        tenant=tenant_a, name="Disputing", billing_email="a@dispute.example", reminders_paused=True
    )
    invoice(paused, "INV-5", days_late=30)
    settled = Customer.objects.create(
        tenant=tenant_a, name="Settled", billing_email="a@settled.example"
    )
    invoice(settled, "INV-6", days_late=30, paid=True)
    due_today = Customer.objects.create(
        tenant=tenant_a, name="Due Today", billing_email="a@today.example"
    )
    invoice(due_today, "INV-7", days_late=0)  # due today is not overdue yet
    return {"northwind": northwind, "paused": paused, "settled": settled}


def test_a_customer_with_overdue_invoices_gets_one_email_listing_them(tenant_a, customers):
    assert schedule_reminders(tenant=tenant_a, today=TODAY) == 1
    (email,) = OutboundEmail.objects.filter(tenant=tenant_a)
    assert email.kind == Kind.REMINDER and email.customer == customers["northwind"]
    assert email.to_addresses == ["ap@northwind.example"]
    assert email.cc_addresses == ["cfo@northwind.example"]
    assert "INV-1" in email.body_text and "INV-2" in email.body_text and "INV-3" in email.body_text
    assert "INV-4" not in email.body_text
    assert "45 days overdue" in email.body_text and "3 days overdue" in email.body_text
    # Amounts in the tenant's locale (en_US by default), with thousands separators.
    assert "Balance due (EUR): €700.00" in email.body_text
    assert "Balance due (USD): $1,250.50" in email.body_text
    assert ">INV-1</td>" in email.body_html and "$1,250.50" in email.body_html
    assert email.subject == "Payment reminder from Acme Corp: 3 overdue invoices"
    assert email.message_id
    assert customers["northwind"].invoices.count() == 4
    assert sorted(i.number for i in email.invoices.all()) == ["INV-1", "INV-2", "INV-3"]


def test_a_second_run_the_same_day_queues_nothing(tenant_a, customers):
    assert schedule_reminders(tenant=tenant_a, today=TODAY) == 1
    assert schedule_reminders(tenant=tenant_a, today=TODAY) == 0
    assert OutboundEmail.objects.filter(tenant=tenant_a).count() == 1


def test_reminders_keep_the_n_day_gap(tenant_a, customers):
    limits = reminder_settings_for(tenant_a)
    limits.interval_days = 7
    limits.save()
    northwind_reminders = OutboundEmail.objects.filter(customer=customers["northwind"])
    schedule_reminders(tenant=tenant_a, today=TODAY)
    schedule_reminders(tenant=tenant_a, today=TODAY + datetime.timedelta(days=6))
    assert northwind_reminders.count() == 1
    schedule_reminders(tenant=tenant_a, today=TODAY + datetime.timedelta(days=7))
    assert northwind_reminders.count() == 2
    customers["northwind"].refresh_from_db()
    assert customers["northwind"].next_reminder_on == TODAY + datetime.timedelta(days=14)


def test_the_database_refuses_a_second_reminder_for_the_same_customer_and_day(tenant_a, customers):
    schedule_reminders(tenant=tenant_a, today=TODAY)
    original = OutboundEmail.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundEmail.objects.create(
            tenant=tenant_a,
            customer=original.customer,
            kind=Kind.REMINDER,
            reminder_date=TODAY,
            to_addresses=["x@y.example"],
            subject="dup",
            body_text="dup",
            message_id="<dup@acme.example>",
            next_attempt_at=original.next_attempt_at,
        )


def test_all_invoices_paid_before_sending_cancels_the_reminder(
    tenant_a, customers, starttls_server
):
    use_smtp(tenant_a, starttls_server.port)
    schedule_reminders(tenant=tenant_a, today=TODAY)
    Invoice.objects.filter(customer=customers["northwind"]).update(paid=True, open_balance=0)
    assert deliver_due(tenant_id=tenant_a.pk) == 0
    email = OutboundEmail.objects.get()
    assert email.status == Status.CANCELLED
    assert starttls_server.received == []


def test_paid_invoices_drop_out_just_before_sending(tenant_a, customers, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    schedule_reminders(tenant=tenant_a, today=TODAY)
    Invoice.objects.filter(number="INV-1").update(paid=True, open_balance=0)
    assert deliver_due(tenant_id=tenant_a.pk) == 1
    (received,) = starttls_server.wait_for(1)
    text = received.message.get_body(("plain",)).get_content()
    assert "INV-1" not in text and "INV-2" in text and "INV-3" in text
    assert "Balance due (EUR): €700.00" in text and "Balance due (USD): $50.50" in text
    email = OutboundEmail.objects.get()
    assert "INV-1" not in email.body_text  # Communications shows what was sent
    assert received.message["Subject"] == "Payment reminder from Acme Corp: 2 overdue invoices"


def test_overdue_is_counted_in_the_tenants_time_zone(tenant_a, customers):
    import time_machine

    tenant_a.time_zone = "Pacific/Auckland"
    tenant_a.save(update_fields=["time_zone"])
    Invoice.objects.exclude(number="INV-7").delete()
    # 12:00 UTC on the 25th is already the 26th in Auckland: INV-7, due the 25th, is overdue there.
    with time_machine.travel(datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC)):
        assert schedule_reminders(tenant=tenant_a) == 1


def test_send_reminders_reports_progress_in_whole_lines_and_what_it_queued(tenant_a, customers):
    import time_machine

    out = StringIO()
    with time_machine.travel(datetime.datetime(2026, 11, 25, 3, 0, tzinfo=datetime.UTC)):
        call_command("send_reminders", "--tenant", "Acme Corp", stdout=out)
    lines = out.getvalue().splitlines()
    assert "  1 of 1 due customers done" in lines and "\r" not in out.getvalue()
    assert "Acme Corp: queued 1 reminder(s)." in lines
    assert lines[-1] == "Queued 1 reminder(s) in all."
    assert OutboundEmail.objects.filter(tenant=tenant_a, kind=Kind.REMINDER).count() == 1


def test_seed_demo_creates_customers_with_some_overdue_invoices(db):
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    assert Customer.objects.filter(tenant__name="Demo Co").count() == 5
    import django.utils.timezone as tz

    overdue = Invoice.objects.filter(tenant__name="Demo Co", paid=False, due_on__lt=tz.localdate())
    assert 0 < overdue.count() < Invoice.objects.filter(tenant__name="Demo Co").count()


def test_part_payments_show_as_they_stand_when_the_reminder_goes_out(
    tenant_a, customers, starttls_server
):
    use_smtp(tenant_a, starttls_server.port)
    schedule_reminders(tenant=tenant_a, today=TODAY)
    Invoice.objects.filter(number="INV-1").update(open_balance=Decimal("200.00"))
    deliver_due(tenant_id=tenant_a.pk)
    (received,) = starttls_server.wait_for(1)
    text = received.message.get_body(("plain",)).get_content()
    assert "$200.00" in text and "1,200.00" not in text
    assert "$250.50" in text  # the new total


def test_send_reminders_skips_tenants_that_turned_reminders_off(tenant_a, customers):
    limits = reminder_settings_for(tenant_a)
    limits.enabled = False
    limits.save()
    out = StringIO()
    call_command("send_reminders", stdout=out)
    assert "Acme Corp: reminders are off" in out.getvalue()
    assert not OutboundEmail.objects.exists()


def test_the_daily_task_reaches_tenants_that_never_opened_their_settings(
    tenant_a, customers, eager_tasks
):
    import time_machine

    from dunning.models import ReminderSettings
    from dunning.tasks import schedule_daily_reminders

    assert ReminderSettings.objects.get(tenant=tenant_a).enabled  # the default, never saved
    with time_machine.travel(datetime.datetime(2026, 11, 25, 10, 0, tzinfo=datetime.UTC)):
        assert schedule_daily_reminders() == 1
    with time_machine.travel(datetime.datetime(2026, 11, 26, 8, 0, tzinfo=datetime.UTC)):
        assert schedule_daily_reminders() == 0  # before the sending hour (9)
