"""Every tenant has its ReminderSettings row from its creation on (reminders are on by
default), so the reminder tick finds due tenants in that table alone, with one indexed
query, instead of also looking for tenants without a row."""

from __future__ import annotations

from dunning.models import ReminderSettings


def give_new_tenant_reminder_settings(sender, instance, created: bool, raw: bool = False, **kwargs):
    if created and not raw:
        ReminderSettings.objects.get_or_create(tenant_id=instance.pk)
