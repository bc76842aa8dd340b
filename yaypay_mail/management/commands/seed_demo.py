import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from yaypay_mail.models import Customer, Invoice, Role, Tenant
from yaypay_mail.services import member_add

DEMO_TENANT = "Demo Co"
DEMO_LOGINS = [
    ("admin@demo.example", "demo-admin-2026", Role.ADMIN),
    ("collector@demo.example", "demo-collector-2026", Role.COLLECTOR),
]
# (customer, billing email, CCs, paused, [(number, days past due (negative: not yet due), amount, open, currency)])
DEMO_CUSTOMERS = [
    (
        "Northwind Traders",
        "ap@northwind.example",
        ["controller@northwind.example"],
        False,
        [
            ("INV-1001", 45, "1200.00", "1200.00", "USD"),
            ("INV-1002", 12, "340.50", "340.50", "USD"),
        ],
    ),
    (
        "Contoso Ltd",
        "billing@contoso.example",
        [],
        False,
        [
            ("INV-1003", 95, "5000.00", "2500.00", "EUR"),
            ("INV-1004", -10, "800.00", "800.00", "EUR"),
        ],
    ),
    (
        "Fabrikam Inc",
        "payables@fabrikam.example",
        [],
        True,
        [("INV-1005", 30, "760.00", "760.00", "USD")],
    ),
    (
        "Tailspin Toys",
        "accounts@tailspin.example",
        [],
        False,
        [("INV-1006", 5, "99.99", "99.99", "USD"), ("INV-1007", 70, "410.00", "410.00", "GBP")],
    ),
    (
        "Adventure Works",
        "ap@adventure-works.example",
        [],
        False,
        [("INV-1008", -20, "2300.00", "2300.00", "USD")],
    ),
]


class Command(BaseCommand):
    help = "Create the demo tenant, its logins, customers and invoices; safe to run again."

    def handle(self, *args, **options):
        tenant, _ = Tenant.objects.get_or_create(name=DEMO_TENANT)
        users = get_user_model().objects
        for email, password, role in DEMO_LOGINS:
            if not users.filter(email__iexact=email).exists():
                member_add(tenant=tenant, email=email, password=password, role=role)
        today = timezone.localdate()
        for name, billing, ccs, paused, invoices in DEMO_CUSTOMERS:
            customer, _ = Customer.objects.get_or_create(
                tenant=tenant,
                name=name,
                defaults={"billing_email": billing, "cc_emails": ccs, "reminders_paused": paused},
            )
            for number, days_late, amount, open_balance, currency in invoices:
                due = today - datetime.timedelta(days=days_late)
                Invoice.objects.get_or_create(
                    tenant=tenant,
                    number=number,
                    defaults={
                        "customer": customer,
                        "issued_on": due - datetime.timedelta(days=30),
                        "due_on": due,
                        "amount": Decimal(amount),
                        "open_balance": Decimal(open_balance),
                        "currency": currency,
                    },
                )
        self.stdout.write(
            f"Demo tenant {DEMO_TENANT!r} with {len(DEMO_CUSTOMERS)} customers. Logins:"
        )
        for email, password, role in DEMO_LOGINS:
            self.stdout.write(f"  {role:<9}  {email}  /  {password}")
