"""Writes and reads of a tenant's reminder settings that pages, commands and tasks share."""

from __future__ import annotations

from dunning.models import ReminderSettings
from yaypay_mail.models import Tenant


def reminder_settings_for(tenant: Tenant) -> ReminderSettings:
    obj, _ = ReminderSettings.objects.get_or_create(tenant=tenant)
    return obj
