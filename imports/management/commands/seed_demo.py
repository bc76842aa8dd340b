"""seed_demo: the demo tenant, its logins, and its customers and invoices, imported from
demo/customers.csv and demo/invoices.csv through the CSV reader and the upsert service
(the Imports page's path). It lives in `imports`, not the core, because it uses them.

The invoice file's dates are written as if today were DEMO_ANCHOR (2026-01-01); each is
moved by (today - DEMO_ANCHOR), so the demo always has overdue and not-yet-due
invoices. Running it again the same day changes nothing; on a later day it moves the
demo invoices' dates along with today."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from imports import messages as say
from imports.jobs import ImportOptions, error_dicts, run_upsert
from imports.reader import CsvFile
from yaypay_mail.models import Customer, Role, Tenant
from yaypay_mail.services import member_add

DEMO_TENANT = "Demo Co"
DEMO_LOGINS = [
    ("admin@demo.example", "demo-admin-2026", Role.ADMIN),
    ("collector@demo.example", "demo-collector-2026", Role.COLLECTOR),
]
DEMO_DIR = Path(settings.BASE_DIR) / "demo"
DEMO_ANCHOR = datetime.date(2026, 1, 1)
DATE_COLUMNS = ("issue_date", "due_date")


class Command(BaseCommand):
    help = "Create the demo tenant, its logins, customers and invoices; safe to run again."

    def handle(self, *args, **options):
        tenant, _ = Tenant.objects.get_or_create(name=DEMO_TENANT)
        users = get_user_model().objects
        for email, password, role in DEMO_LOGINS:
            if not users.filter(email__iexact=email).exists():
                member_add(tenant=tenant, email=email, password=password, role=role)
        shift = timezone.localdate() - DEMO_ANCHOR
        customers = self._import(tenant, "customers", _adopting_legacy(tenant))
        self._import(tenant, "invoices", lambda record: _shifted(record, shift))
        self.stdout.write(f"Demo tenant {DEMO_TENANT!r} with {customers} customers. Logins:")
        for email, password, role in DEMO_LOGINS:
            self.stdout.write(f"  {role:<9}  {email}  /  {password}")

    def _import(self, tenant: Tenant, kind: str, each) -> int:
        with open(DEMO_DIR / f"{kind}.csv", "rb") as stream:
            csv_file = CsvFile(stream, kind=kind)
            report = run_upsert(
                tenant=tenant,
                records=(each(record) for record in csv_file),
                options=ImportOptions(kind=kind),
                dry_run=False,
            )
        errors = error_dicts([*csv_file.errors, *report.errors])
        if errors or not report.applied:
            raise CommandError(
                f"demo/{kind}.csv: {say.nothing_imported(len(errors))}\n"
                + "\n".join(say.error_lines(errors))
            )
        return report.total


def _shifted(record, shift: datetime.timedelta):
    values = dict(record.values)
    for column in DATE_COLUMNS:
        if values.get(column):
            values[column] = (datetime.date.fromisoformat(values[column]) + shift).isoformat()
    return dataclasses.replace(record, values=values)


def _adopting_legacy(tenant: Tenant):
    """Demo customers seeded before they had a customer_id are matched by name once, so
    that the import updates them instead of adding copies."""

    def adopt(record):
        key, name = record.values.get("customer_id"), record.values.get("name")
        if key and name and not Customer.objects.filter(tenant=tenant, external_id=key).exists():
            legacy = Customer.objects.filter(tenant=tenant, name=name, external_id__isnull=True)
            first = legacy.order_by("id").first()
            if first is not None:
                Customer.objects.filter(pk=first.pk).update(external_id=key)
        return record

    return adopt
