"""Beat's reminder tick and drain cost what is due, not what exists: ReminderSettings
gets next_run_at (the next local sending hour, as a UTC instant; NULL = work it out at the
next tick) with the partial index reminder_settings_due, and held_until (the drain skips
a tenant whose sending limits are used up until then).

Written by hand. No data step: existing rows get NULL in both, so the first tick after
the deploy works out every enabled tenant's next run once (scheduling those whose hour
has come today, as the old tick did every minute), and no tenant is held. The settings
table has one row per tenant, so the index is built in the migration's transaction.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("communications", "0005_status_counts"),
    ]

    operations = [
        migrations.AddField(
            model_name="remindersettings",
            name="next_run_at",
            field=models.DateTimeField(blank=True, db_default=None, null=True),
        ),
        migrations.AddField(
            model_name="remindersettings",
            name="held_until",
            field=models.DateTimeField(blank=True, db_default=None, null=True),
        ),
        migrations.AddIndex(
            model_name="remindersettings",
            index=models.Index(
                condition=models.Q(("enabled", True)),
                fields=["next_run_at"],
                name="reminder_settings_due",
            ),
        ),
    ]
