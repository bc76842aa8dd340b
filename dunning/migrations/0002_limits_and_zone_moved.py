"""The time zone moves to the tenant (every room counts days in it) and the sending
limits to the outbox (outbox.SendingLimits, which the claim locks): their values are
copied over, every tenant gets its limits row, then the columns leave the reminder
settings."""

from django.db import migrations


def copy_over(apps, schema_editor):
    Tenant = apps.get_model("yaypay_mail", "Tenant")
    ReminderSettings = apps.get_model("dunning", "ReminderSettings")
    SendingLimits = apps.get_model("outbox", "SendingLimits")
    have_limits = set(SendingLimits.objects.values_list("tenant_id", flat=True))
    settings_of = {row.tenant_id: row for row in ReminderSettings.objects.all()}
    new_limits = []
    for tenant in Tenant.objects.all():
        row = settings_of.get(tenant.pk)
        if row is not None and tenant.time_zone != row.time_zone:
            Tenant.objects.filter(pk=tenant.pk).update(time_zone=row.time_zone)
        if tenant.pk in have_limits:
            continue
        fields = {}
        if row is not None:
            fields = {
                "per_minute_limit": row.per_minute_limit,
                "per_day_limit": row.per_day_limit,
                "held_until": row.held_until,
            }
        new_limits.append(SendingLimits(tenant_id=tenant.pk, **fields))
    SendingLimits.objects.bulk_create(new_limits, batch_size=1000)


def copy_back(apps, schema_editor):
    Tenant = apps.get_model("yaypay_mail", "Tenant")
    ReminderSettings = apps.get_model("dunning", "ReminderSettings")
    SendingLimits = apps.get_model("outbox", "SendingLimits")
    zones = dict(Tenant.objects.values_list("pk", "time_zone"))
    limits = {row.tenant_id: row for row in SendingLimits.objects.all()}
    for row in ReminderSettings.objects.all():
        row.time_zone = zones.get(row.tenant_id, "UTC")
        if row.tenant_id in limits:
            row.per_minute_limit = limits[row.tenant_id].per_minute_limit
            row.per_day_limit = limits[row.tenant_id].per_day_limit
            row.held_until = limits[row.tenant_id].held_until
        row.save()


class Migration(migrations.Migration):
    dependencies = [
        ("dunning", "0001_initial"),
        ("outbox", "0002_sending_limits"),
        ("yaypay_mail", "0009_tenant_time_zone"),
    ]

    operations = [
        migrations.RunPython(copy_over, copy_back),
        migrations.RemoveField(model_name="remindersettings", name="held_until"),
        migrations.RemoveField(model_name="remindersettings", name="per_day_limit"),
        migrations.RemoveField(model_name="remindersettings", name="per_minute_limit"),
        migrations.RemoveField(model_name="remindersettings", name="time_zone"),
    ]
