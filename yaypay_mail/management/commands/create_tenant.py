from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from yaypay_mail.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant with its first admin."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password", required=True)

    def handle(self, *args, name, admin_email, admin_password, **options):
        try:
            tenant = tenant_create(
                name=name, admin_email=admin_email, admin_password=admin_password
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        admin = tenant.memberships.get().user
        self.stdout.write(f"Created tenant {tenant.name!r} with admin {admin.email}.")
