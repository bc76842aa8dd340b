"""The shared core: tenants and who belongs to them."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver
from django.utils import timezone

from .validators import validate_email_list


class Tenant(models.Model):
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # For imported invoices that name no currency.
    default_currency = models.CharField(max_length=3, default="USD")
    # The tenant's day: reminders, sending limits, the Aging Report and the pages count
    # in it. One of yaypay_mail.time_zones' zones, checked by the form that sets it.
    time_zone = models.CharField(max_length=64, default="UTC", db_default="UTC")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def local_today(self, now: datetime.datetime | None = None) -> datetime.date:
        return (now or timezone.now()).astimezone(ZoneInfo(self.time_zone)).date()


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    COLLECTOR = "collector", "Collector"


class Membership(models.Model):
    """A user belongs to exactly one tenant, with one role."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    def __str__(self) -> str:
        return f"{self.user.email} ({self.role}) at {self.tenant}"


class Customer(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="customers")
    # The id the tenant's ERP knows this customer by: CSV and API `customer_id`.
    # NULL, not "", when absent: unique per tenant only when set.
    external_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    name = models.CharField(max_length=200)
    billing_email = models.EmailField()
    cc_emails = models.JSONField(default=list, blank=True)
    # Paused reminders (for example during a dispute) are never scheduled.
    reminders_paused = models.BooleanField(default=False)
    pause_reason = models.CharField(max_length=200, blank=True)
    # The first day this customer may get the next reminder, in the tenant's time zone.
    next_reminder_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="customer_external_id_per_tenant",
            ),
        ]
        indexes = [
            # Daily reminder scheduling looks for this tenant's customers that are due.
            models.Index(fields=["tenant", "next_reminder_on"], name="customer_next_reminder"),
            # The Customers list pages through a tenant's customers by (name, id).
            models.Index(fields=["tenant", "name", "id"], name="customer_by_name"),
            # The Customers list with ?paused=1: the few paused customers, by (name, id).
            models.Index(
                fields=["tenant", "name", "id"],
                condition=models.Q(reminders_paused=True),
                name="customer_paused_by_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        stored = getattr(self, "_stored_name", None)
        if stored is not None and stored != self.name:
            from .balances import customers_renamed

            customers_renamed([self.pk])
        self._stored_name = self.name

    @classmethod
    def from_db(cls, db, field_names, values, *, fetch_mode=None):
        customer = super().from_db(db, field_names, values, fetch_mode=fetch_mode)
        # The Aging rollups keep the name for their sort: a rename is copied to them.
        customer._stored_name = customer.__dict__.get("name")
        return customer

    def clean(self) -> None:
        try:
            validate_email_list(self.cc_emails)
        except ValidationError as error:
            raise ValidationError({"cc_emails": error.messages}) from None


class Invoice(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invoices")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invoices")
    number = models.CharField(max_length=50)
    issued_on = models.DateField()
    due_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    open_balance = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    # Derived: an invoice is paid when its open balance is 0. A negative balance is a
    # credit: never reminded, netted into totals. "Open" means a balance above 0.
    paid = models.BooleanField(default=False)

    class Meta:
        ordering = ["due_on", "number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="invoice_number_per_tenant"),
            models.CheckConstraint(
                condition=models.Q(paid=True, open_balance=0)
                | (models.Q(paid=False) & ~models.Q(open_balance=0)),
                name="invoice_paid_means_zero_balance",
            ),
        ]
        indexes = [
            # Reminders and the Aging Report read a customer's open invoices by due date.
            models.Index(
                fields=["customer", "due_on"],
                condition=models.Q(paid=False),
                name="invoice_open_by_due",
            ),
            # The Aging rollups' daily refresh finds the open invoices that fell due since
            # the last one (yaypay_mail/balances.py).
            models.Index(
                fields=["tenant", "due_on"],
                condition=models.Q(paid=False),
                name="invoice_open_by_tenant_due",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        """Saves, and keeps the Aging rollups (OpenBalance, CustomerBalance) in step."""
        from .balances import invoices_changed, stored_states

        self.paid = self.open_balance == 0
        with transaction.atomic():
            before = stored_states([self.pk]) if self.pk and not self._state.adding else []
            super().save(*args, **kwargs)
            invoices_changed(tenant_id=self.tenant_id, before=before, after=[self])

    def days_overdue(self, today) -> int:
        return max((today - self.due_on).days, 0)


class ChangeSource(models.TextChoices):
    APP = "app", "In the app"
    IMPORT = "import", "CSV import"
    API = "api", "API"


class CustomerChange(models.Model):
    """A customer's history: who changed what, when, and how (page, import or API)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=10, choices=ChangeSource.choices)
    # {"field": [old, new]}; "created" for the record's first values.
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # The Statement page shows a customer's latest changes.
            models.Index(fields=["customer", "-at"], name="customer_change_latest"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_source_display()} change of {self.customer_id} at {self.at:%Y-%m-%d %H:%M}"
        )


# --- the Aging Report's rollups (kept by yaypay_mail/balances.py) -------------------


class OpenBalance(models.Model):
    """The sum of a tenant's unpaid invoices' open balances (credits netted in) per
    currency and due date: a few hundred rows that the report's totals row is bucketed
    from at read time, so it is never stale."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    due_on = models.DateField()
    amount = models.DecimalField(max_digits=16, decimal_places=2, db_default=0)
    invoices = models.IntegerField(db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "currency", "due_on"], name="open_balance_per_due_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} due {self.due_on}"


class CustomerBalance(models.Model):
    """A customer's open and overdue totals in one currency, for sorting and paging the
    Aging Report. A row exists only while the customer has an unpaid invoice in that
    currency. `overdue_total` counts invoices due before `overdue_as_of`, the tenant's
    date when the row was computed; AgingState says up to which day the whole tenant is
    right."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="balances")
    currency = models.CharField(max_length=3)
    # A copy of the customer's name, so that ?sort=name pages on an index of this table.
    name = models.CharField(max_length=200, db_default="")
    open_total = models.DecimalField(max_digits=16, decimal_places=2, db_default=0)
    overdue_total = models.DecimalField(max_digits=16, decimal_places=2, db_default=0)
    # Unpaid invoices summed here: the row goes when the last one is paid or deleted.
    invoices = models.IntegerField(db_default=0)
    overdue_as_of = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "currency"], name="customer_balance_per_currency"
            ),
        ]
        indexes = [
            # The Aging Report's sorts, each paged by keyset from this index:
            # ?sort=overdue (the default), ?sort=total, ?sort=name.
            models.Index(
                fields=["tenant", "currency", "-overdue_total", "-customer"],
                name="customer_balance_by_overdue",
            ),
            models.Index(
                fields=["tenant", "currency", "-open_total", "-customer"],
                name="customer_balance_by_total",
            ),
            models.Index(
                fields=["tenant", "currency", "name", "customer"],
                name="customer_balance_by_name",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.open_total} {self.currency}"


class AgingState(models.Model):
    """The tenant's date that every CustomerBalance.overdue_total is right for. When the
    tenant's day moves on, the rows of the customers whose invoices fell due meanwhile
    are recomputed and this moves with them (balances.refresh_overdue)."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    overdue_as_of = models.DateField()

    def __str__(self) -> str:
        return f"{self.tenant_id} as of {self.overdue_as_of}"


def _deletion_covers(origin, *models_: type[models.Model]) -> bool:
    """Whether a delete started at one of `models_` (an instance or a queryset of it)."""
    model = getattr(origin, "model", None) or type(origin)
    return isinstance(model, type) and issubclass(model, models_)


@receiver(pre_delete, sender=Customer, dispatch_uid="aging_customer_deleted")
def _customer_deleted(sender, instance: Customer, origin=None, **kwargs) -> None:
    # A tenant's delete takes its rollups with it; a customer's takes its CustomerBalance
    # rows (CASCADE) but its invoices must leave the tenant's OpenBalance.
    if _deletion_covers(origin, Tenant):
        return
    from .balances import customer_deleted

    customer_deleted(instance)


@receiver(post_delete, sender=Invoice, dispatch_uid="aging_invoice_deleted")
def _invoice_deleted(sender, instance: Invoice, origin=None, **kwargs) -> None:
    # Cascades from a customer or a tenant are handled once for all their invoices above.
    if _deletion_covers(origin, Tenant, Customer):
        return
    from .balances import invoices_changed

    invoices_changed(tenant_id=instance.tenant_id, before=[instance], after=[])
