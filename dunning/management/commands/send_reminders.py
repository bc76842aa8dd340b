from django.core.management.base import BaseCommand, CommandError

from dunning.reminders import schedule_reminders
from dunning.services import reminder_settings_for
from yaypay_mail.models import Tenant


class Command(BaseCommand):
    help = (
        "Queue the due payment reminders now, whatever the sending hour. Overdue means due "
        "before today in the tenant's time zone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="only this tenant (by name)")

    def handle(self, *args, tenant=None, **options):
        tenants = Tenant.objects.all()
        if tenant:
            tenants = tenants.filter(name__iexact=tenant.strip())
            if not tenants:
                raise CommandError(f"No tenant named {tenant!r}.")
        total = 0
        for each in tenants:
            if not reminder_settings_for(each).enabled:
                self.stdout.write(
                    f"{each.name}: reminders are off (Settings | Reminders); skipped."
                )
                continue
            self.stdout.write(f"{each.name}: looking for customers with overdue invoices...")
            queued = schedule_reminders(tenant=each, progress=self._progress)
            self.stdout.write(f"{each.name}: queued {queued:,} reminder(s).")
            total += queued
        self.stdout.write(f"Queued {total:,} reminder(s) in all.")

    def _progress(self, done: int, total: int) -> None:
        # Whole lines, one per chunk of customers: log lines that delivery writes meanwhile
        # (tasks run in-process without a broker) then fall between them, not inside a bar.
        if total:
            self.stdout.write(f"  {done:,} of {total:,} due customers done")
