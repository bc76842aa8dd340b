from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from yaypay_mail.models import Role, Tenant
from yaypay_mail.services import member_add

DEMO_TENANT = "Demo Co"
DEMO_LOGINS = [
    ("admin@demo.example", "demo-admin-2026", Role.ADMIN),
    ("collector@demo.example", "demo-collector-2026", Role.COLLECTOR),
]


class Command(BaseCommand):
    help = "Create the demo tenant and its logins; safe to run again."

    def handle(self, *args, **options):
        tenant, _ = Tenant.objects.get_or_create(name=DEMO_TENANT)
        users = get_user_model().objects
        for email, password, role in DEMO_LOGINS:
            if not users.filter(email__iexact=email).exists():
                member_add(tenant=tenant, email=email, password=password, role=role)
        self.stdout.write(f"Demo tenant {DEMO_TENANT!r}. Logins:")
        for email, password, role in DEMO_LOGINS:
            self.stdout.write(f"  {role:<9}  {email}  /  {password}")
