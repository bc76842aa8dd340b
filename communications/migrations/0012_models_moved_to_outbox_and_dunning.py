"""The outbox's models now live in outbox, the reminders' in dunning (their 0001): the
tables stay as they are; only Django's state forgets them here."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("communications", "0011_attempt_sent_as"),
        ("outbox", "0001_initial"),
        ("dunning", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DeliveryAttempt"),
                migrations.DeleteModel(name="StatusCount"),
                migrations.DeleteModel(name="OutboundEmail"),
                migrations.DeleteModel(name="ReminderSettings"),
                migrations.DeleteModel(name="ReminderTemplate"),
            ],
        ),
    ]
