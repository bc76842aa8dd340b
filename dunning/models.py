"""What a tenant's reminders do and say: their rhythm and sending limits, and the email."""

from __future__ import annotations

from zoneinfo import available_timezones

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from yaypay_mail.models import Tenant

TIME_ZONE_CHOICES = sorted((name, name) for name in available_timezones())


class ReminderSettings(models.Model):
    """How a tenant's outbox sends: reminders on/off, their rhythm, and sending limits."""

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
    time_zone = models.CharField(max_length=64, default="UTC", choices=TIME_ZONE_CHOICES)
    # The defaults fit Microsoft 365 (30 a minute) and Gmail (2,000 a day).
    per_minute_limit = models.PositiveIntegerField(
        "Emails per minute",
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
    )
    # Counts recipients (To + Cc), as Microsoft 365's 10,000 a day does.
    per_day_limit = models.PositiveIntegerField(
        "Recipients per day (To + Cc)",
        default=2000,
        validators=[MinValueValidator(1), MaxValueValidator(10_000_000)],
    )
    # Beat's reminder tick: the UTC instant of the next local sending hour. NULL means
    # "work it out at the next tick" (a new row, or settings just saved).
    next_run_at = models.DateTimeField(null=True, blank=True, db_default=None)
    # Beat's drain skips the tenant until then: its sending limits are used up
    # (outbox.limits.check_allowance says when they free); a claim that finds
    # room again clears it.
    held_until = models.DateTimeField(null=True, blank=True, db_default=None)
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
