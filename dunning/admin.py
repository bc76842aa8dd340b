"""The operators' view of the reminder settings: read-only, superusers only."""

from __future__ import annotations

from django.contrib import admin

from dunning.models import ReminderSettings
from outbox.admin import shown_fields
from yaypay_mail.admin import ReadOnlyAdmin


@admin.register(ReminderSettings)
class ReminderSettingsAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "enabled", "interval_days", "sending_hour", "locale"]
    list_filter = ["enabled"]
    list_select_related = ["tenant"]
    fields = readonly_fields = shown_fields(ReminderSettings)
