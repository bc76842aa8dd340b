"""The shared core: tenants and who belongs to them."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .validators import validate_email_list


class Tenant(models.Model):
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # For imported invoices that name no currency.
    default_currency = models.CharField(max_length=3, default="USD")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


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
        ]

    def __str__(self) -> str:
        return self.name

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
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        self.paid = self.open_balance == 0
        super().save(*args, **kwargs)

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
