"""The outgoing email settings and the OAuth connections now live in routes (its 0001):
the tables stay as they are; only Django's state forgets them here."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("settings_app", "0003_oauth_connection"),
        ("routes", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="OAuthConnection"),
                migrations.DeleteModel(name="OutgoingEmailSettings"),
            ],
        ),
    ]
