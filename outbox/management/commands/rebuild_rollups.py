import time

from django.core.management.base import BaseCommand, CommandError

from outbox.counts import rebuild_status_counts
from yaypay_mail.balances import rebuild_aging
from yaypay_mail.models import Tenant


class Command(BaseCommand):
    help = (
        "Recompute every stored count and sum from the rows: the Dashboard's email counts "
        "and the Aging Report's balances. Safe to run at any time, also while workers send "
        "and imports run: each tenant is rebuilt under the same locks they take."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="only this tenant (by name)")

    def handle(self, *args, tenant=None, **options):
        tenants = Tenant.objects.order_by("pk")
        if tenant:
            tenants = tenants.filter(name__iexact=tenant.strip())
            if not tenants:
                raise CommandError(f"No tenant named {tenant!r}.")
        for each in tenants:
            started = time.perf_counter()
            rebuild_status_counts(each.pk)
            rebuild_aging(each.pk, today=each.local_today())
            self.stdout.write(f"{each.name}: rebuilt in {time.perf_counter() - started:.1f} s")
