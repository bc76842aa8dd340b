"""Open credits in reminders: each is listed under the overdue invoices of its currency,
and the customer is asked for the balance net of them, the Statement's figure. A currency
whose credits cover everything overdue asks for nothing; a customer left with nothing to
ask gets no reminder, and one that queued is cancelled just before sending."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from html import unescape
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from dunning.models import ReminderTemplate
from dunning.reminders import schedule_reminders
from outbox.delivery import deliver_due
from outbox.models import OutboundEmail, Status
from tests.communications.outbox_helpers import use_smtp
from yaypay_mail.models import Customer, Invoice, Tenant

TODAY = datetime.date(2026, 11, 25)


def invoice(customer, number, *, days_late, open_balance, currency="USD") -> Invoice:
    due = TODAY - datetime.timedelta(days=days_late)
    amount = Decimal(open_balance)
    return Invoice.objects.create(
        tenant=customer.tenant,
        customer=customer,
        number=number,
        issued_on=due - datetime.timedelta(days=30),
        due_on=due,
        amount=amount,
        open_balance=amount,
        currency=currency,
    )


def customer_named(tenant, name="Northwind Traders") -> Customer:
    return Customer.objects.create(
        tenant=tenant, name=name, billing_email=f"ap@{name.split()[0].lower()}.example"
    )


def texts(received) -> tuple[str, str]:
    """The plain text and the HTML's visible words of a message the server received."""
    message = received.message
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    body = html.split("<body", 1)[1].split(">", 1)[1]
    seen = " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())
    return plain, seen


def only_message(server, to: str):
    (found,) = [r for r in server.received if to in r.message["To"]]
    return found


# --- the demo tenant's Northwind ---------------------------------------------------------


def test_northwinds_reminder_asks_for_its_statement_balance_and_lists_its_credit_note(
    db, starttls_server
):
    call_command("seed_demo", stdout=StringIO())
    tenant = Tenant.objects.get(name="Demo Co")
    northwind = Customer.objects.get(tenant=tenant, name="Northwind Traders")
    use_smtp(tenant, starttls_server.port)

    assert schedule_reminders(tenant=tenant) >= 1
    deliver_due(tenant_id=tenant.pk)
    starttls_server.wait_for(OutboundEmail.objects.filter(tenant=tenant).count())
    plain, seen = texts(only_message(starttls_server, "ap@northwind.example"))

    assert "Balance due (USD): $1,420.50" in plain and "1,540.50" not in plain
    assert re.search(r"^  CR-1009  due .+  credit  -\$120\.00$", plain, re.M)
    assert plain.index("INV-1002") < plain.index("CR-1009") < plain.index("Balance due")
    assert "Please pay the balance due of $1,420.50." in plain
    assert "Credit -$120.00 Balance due (USD) $1,420.50" in seen and "1,540.50" not in seen
    assert not re.search(r"CR-1009 \S+ \S+ \S+ \d+ ", seen)  # no days overdue for the credit

    # The Statement says the same.
    admin = get_user_model().objects.get(email="admin@demo.example")
    client = Client()
    client.force_login(admin)
    page = client.get(f"/customers/{northwind.pk}/").content.decode()
    assert '<td class="num" data-label="Open balance">$1,420.50</td>' in page


# --- per currency ------------------------------------------------------------------------


def test_each_currency_gets_its_block_with_its_own_credits(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    northwind = customer_named(tenant_a)
    invoice(northwind, "INV-1", days_late=45, open_balance="1200.00")
    invoice(northwind, "INV-2", days_late=12, open_balance="340.50")
    invoice(northwind, "CR-1", days_late=20, open_balance="-120.00")
    invoice(northwind, "INV-3", days_late=10, open_balance="7000.00", currency="EUR")
    invoice(northwind, "CR-2", days_late=-10, open_balance="-500.00", currency="EUR")  # not due
    invoice(northwind, "CR-3", days_late=5, open_balance="-80.00", currency="GBP")  # no GBP due

    assert schedule_reminders(tenant=tenant_a, today=TODAY) == 1
    assert deliver_due(tenant_id=tenant_a.pk) == 1
    (received,) = starttls_server.wait_for(1)
    plain, seen = texts(received)

    eur, usd = plain.split("Invoices in EUR:\n", 1)[1].split("Invoices in USD:\n")
    assert "INV-3  due Nov 15, 2026  10 days overdue  €7,000.00" in eur
    assert "CR-2  due Dec 5, 2026  credit  -€500.00" in eur
    assert "Balance due (EUR): €6,500.00" in eur and "CR-1" not in eur
    assert "CR-1  due Nov 5, 2026  credit  -$120.00" in usd
    assert "Balance due (USD): $1,420.50" in usd and "CR-2" not in usd
    assert "CR-3" not in plain and "GBP" not in plain and "£" not in plain
    assert "Please pay the balance due of €6,500.00, $1,420.50." in plain
    assert (
        "Invoices in EUR INV-3 Nov 15, 2026 10 €7,000.00 CR-2 Dec 5, 2026 Credit -€500.00 "
        "Balance due (EUR) €6,500.00 Invoices in USD" in seen
    )
    assert received.message["Subject"] == "Payment reminder from Acme Corp: 3 overdue invoices"


def test_a_currency_whose_credits_cover_everything_overdue_is_left_out(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    northwind = customer_named(tenant_a)
    invoice(northwind, "INV-1", days_late=30, open_balance="100.00")
    invoice(northwind, "CR-1", days_late=10, open_balance="-100.00")  # balance exactly 0
    invoice(northwind, "INV-2", days_late=10, open_balance="700.00", currency="EUR")

    assert schedule_reminders(tenant=tenant_a, today=TODAY) == 1
    deliver_due(tenant_id=tenant_a.pk)
    (received,) = starttls_server.wait_for(1)
    plain, seen = texts(received)
    assert "INV-2" in plain and "Balance due (EUR): €700.00" in plain
    assert "INV-1" not in plain and "CR-1" not in plain and "USD" not in plain
    assert "Invoices in" not in plain  # one currency left: no headings
    assert "INV-1" not in seen and "$" not in seen
    assert received.message["Subject"] == "Payment reminder from Acme Corp: 1 overdue invoice"
    assert [i.number for i in OutboundEmail.objects.get().invoices.all()] == ["INV-2"]


def test_a_customer_whose_credits_cover_every_currency_gets_no_reminder(tenant_a):
    northwind = customer_named(tenant_a)
    invoice(northwind, "INV-1", days_late=30, open_balance="100.00")
    invoice(northwind, "CR-1", days_late=-3, open_balance="-150.00")
    invoice(northwind, "INV-2", days_late=10, open_balance="700.00", currency="EUR")
    invoice(northwind, "CR-2", days_late=10, open_balance="-700.00", currency="EUR")
    owing = customer_named(tenant_a, "Contoso Ltd")
    invoice(owing, "INV-3", days_late=3, open_balance="50.00")

    assert schedule_reminders(tenant=tenant_a, today=TODAY) == 1
    assert [email.customer for email in OutboundEmail.objects.all()] == [owing]
    northwind.refresh_from_db()
    assert northwind.next_reminder_on is None  # asked again once something is owed


# --- just before sending -----------------------------------------------------------------


def test_a_credit_note_issued_after_queueing_is_netted_in_when_it_goes_out(
    tenant_a, starttls_server
):
    use_smtp(tenant_a, starttls_server.port)
    northwind = customer_named(tenant_a)
    invoice(northwind, "INV-1", days_late=30, open_balance="1200.00")
    invoice(northwind, "INV-2", days_late=10, open_balance="700.00", currency="EUR")
    schedule_reminders(tenant=tenant_a, today=TODAY)
    invoice(northwind, "CR-1", days_late=0, open_balance="-200.00")
    invoice(northwind, "CR-2", days_late=0, open_balance="-700.00", currency="EUR")

    assert deliver_due(tenant_id=tenant_a.pk) == 1
    (received,) = starttls_server.wait_for(1)
    plain, _ = texts(received)
    assert "CR-1  due Nov 25, 2026  credit  -$200.00" in plain
    assert "Balance due (USD): $1,000.00" in plain
    assert "INV-2" not in plain and "EUR" not in plain  # its currency is covered now
    email = OutboundEmail.objects.get()
    assert "Balance due (USD): $1,000.00" in email.body_text  # Communications shows what went
    assert [i.number for i in email.invoices.all()] == ["INV-1"]


def test_a_reminder_whose_balance_is_all_credited_before_sending_is_cancelled(
    tenant_a, starttls_server
):
    use_smtp(tenant_a, starttls_server.port)
    northwind = customer_named(tenant_a)
    invoice(northwind, "INV-1", days_late=30, open_balance="1200.00")
    schedule_reminders(tenant=tenant_a, today=TODAY)
    invoice(northwind, "CR-1", days_late=0, open_balance="-1200.00")

    assert deliver_due(tenant_id=tenant_a.pk) == 0
    email = OutboundEmail.objects.get()
    assert email.status == Status.CANCELLED
    assert email.error_message == "Open credits covered its overdue invoices before it was sent."
    assert starttls_server.received == []


# --- placeholders ------------------------------------------------------------------------


def test_total_overdue_is_before_credits_and_balance_due_after(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    ReminderTemplate.objects.create(
        tenant=tenant_a,
        opening="Overdue: {total_overdue}. To pay: {balance_due}.",
        subject="{balance_due}",
    )
    northwind = customer_named(tenant_a)
    invoice(northwind, "INV-1", days_late=45, open_balance="1200.00")
    invoice(northwind, "INV-2", days_late=12, open_balance="340.50")
    invoice(northwind, "CR-1", days_late=20, open_balance="-120.00")
    invoice(northwind, "INV-3", days_late=10, open_balance="700.00", currency="EUR")

    schedule_reminders(tenant=tenant_a, today=TODAY)
    deliver_due(tenant_id=tenant_a.pk)
    (received,) = starttls_server.wait_for(1)
    plain, seen = texts(received)
    expected = "Overdue: €700.00, $1,540.50. To pay: €700.00, $1,420.50."
    assert expected in plain and expected in seen
    assert received.message["Subject"] == "€700.00, $1,420.50"


def test_the_statement_and_the_reminder_agree_for_todays_customer(tenant_a, admin_client_a):
    # Same figures, on the same day, read through the Statement's own page.
    northwind = customer_named(tenant_a)
    today = timezone.localdate()
    for number, days, amount in (("INV-1", 9, "1000.00"), ("CR-1", 2, "-250.25")):
        Invoice.objects.create(
            tenant=tenant_a,
            customer=northwind,
            number=number,
            issued_on=today - datetime.timedelta(days=days + 30),
            due_on=today - datetime.timedelta(days=days),
            amount=Decimal(amount),
            open_balance=Decimal(amount),
        )
    schedule_reminders(tenant=tenant_a)
    body = OutboundEmail.objects.get().body_text
    page = admin_client_a.get(f"/customers/{northwind.pk}/").content.decode()
    assert "Balance due (USD): $749.75" in body
    assert '<td class="num" data-label="Open balance">$749.75</td>' in page
