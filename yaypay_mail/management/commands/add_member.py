from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from yaypay_mail.models import Role, Tenant
from yaypay_mail.services import member_add


class Command(BaseCommand):
    help = "Add a user (admin or collector) to a tenant."

    def add_arguments(self, parser):
        parser.add_argument("tenant_name")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)

    def handle(self, *args, tenant_name, email, password, role, **options):
        tenant = Tenant.objects.filter(name__iexact=tenant_name.strip()).first()
        if tenant is None:
            raise CommandError(f"No tenant named {tenant_name!r}.")
        try:
            membership = member_add(tenant=tenant, email=email, password=password, role=role)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"Added {membership.user.email} to {tenant.name!r} as {role}.")
