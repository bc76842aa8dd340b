"""Every tenant has its outgoing email settings row from its creation on (routes.apps),
so that reading a page never writes one; older tenants without one get it here."""

from django.db import migrations


def create_missing_rows(apps, schema_editor):
    Tenant = apps.get_model("yaypay_mail", "Tenant")
    OutgoingEmailSettings = apps.get_model("routes", "OutgoingEmailSettings")
    have = set(OutgoingEmailSettings.objects.values_list("tenant_id", flat=True))
    OutgoingEmailSettings.objects.bulk_create(
        [
            OutgoingEmailSettings(tenant_id=pk)
            for pk in Tenant.objects.values_list("pk", flat=True)
            if pk not in have
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("routes", "0001_initial")]

    operations = [migrations.RunPython(create_missing_rows, migrations.RunPython.noop)]
