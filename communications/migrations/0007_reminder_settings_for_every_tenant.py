"""Every tenant gets its ReminderSettings row (new tenants get theirs at creation, from
communications.tenant_setup), so the reminder tick no longer looks for tenants without
one. Written by hand; the defaults are those a missing row stood for."""

from django.db import migrations


def create_missing_rows(apps, schema_editor):
    Tenant = apps.get_model("yaypay_mail", "Tenant")
    ReminderSettings = apps.get_model("communications", "ReminderSettings")
    missing = (
        Tenant.objects.exclude(pk__in=ReminderSettings.objects.values("tenant_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ReminderSettings.objects.bulk_create(
        (ReminderSettings(tenant_id=pk) for pk in missing.iterator()),
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("communications", "0006_reminder_schedule"),
        ("yaypay_mail", "0008_customer_search_trgm"),
    ]

    operations = [
        migrations.RunPython(create_missing_rows, migrations.RunPython.noop),
    ]
