"""What a tenant's reminders do and say: their rhythm and sending limits, and the email."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from yaypay_mail.models import Tenant


class ReminderSettings(models.Model):
    """When a tenant's reminders go out: on or off, their rhythm and sending hour (in the
    tenant's time zone, Tenant.time_zone), and how their figures are written."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, related_name="reminder_settings"
    )
    enabled = models.BooleanField("Send payment reminders", default=True)
    interval_days = models.PositiveSmallIntegerField(
        "Days between reminders",
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    sending_hour = models.PositiveSmallIntegerField(
        "Sending hour", default=9, validators=[MaxValueValidator(23)]
    )
    # Beat's reminder tick: the UTC instant of the next local sending hour. NULL means
    # "work it out at the next tick" (a new row, or settings just saved).
    next_run_at = models.DateTimeField(null=True, blank=True, db_default=None)
    # How numbers, amounts and dates are written on the tenant's pages and emails (Babel).
    locale = models.CharField(max_length=16, default="en_US", db_default="en_US")

    class Meta:
        db_table = "communications_remindersettings"
        indexes = [
            # Beat's reminder tick: enabled tenants whose next run is due (or unknown).
            models.Index(
                fields=["next_run_at"], condition=Q(enabled=True), name="reminder_settings_due"
            ),
        ]

    def __str__(self) -> str:
        return f"Reminder settings of {self.tenant}"


class ReminderTemplate(models.Model):
    """What a tenant's reminder email says and shows. Apart from ReminderSettings, which
    every claim reads and locks: the logo's bytes are read only when a reminder is built."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, related_name="reminder_template"
    )
    subject = models.CharField(max_length=200, blank=True, default="", db_default="")
    opening = models.TextField(blank=True, default="", db_default="")
    closing = models.TextField(blank=True, default="", db_default="")
    how_to_pay = models.TextField(blank=True, default="", db_default="")
    contact_line = models.CharField(max_length=300, blank=True, default="", db_default="")
    # PNG or JPEG, at most 200 KB, sent as an inline (CID) part.
    logo = models.BinaryField(null=True, blank=True)
    logo_content_type = models.CharField(max_length=20, blank=True, default="", db_default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "communications_remindertemplate"

    def __str__(self) -> str:
        return f"Reminder template of {self.tenant}"
