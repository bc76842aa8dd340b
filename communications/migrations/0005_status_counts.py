"""The Dashboard's rollup (StatusCount) and the outbox's counted_status.

No data step: existing rows get counted_status "" (db_default, a catalogue-only change on
PostgreSQL 11+), so they are uncounted; the sweep (communications.counts.sweep_uncounted,
beat every 15 s) or rebuild_status_counts counts them. Until then every row is in the
partial index outbox_uncounted, so on PostgreSQL it is built CONCURRENTLY (this migration
is not atomic) and writes to the outbox go on meanwhile.

PostgreSQL cannot estimate a comparison of two columns (it guesses that 99.5 % of rows
match `counted_status <> status`), so on PostgreSQL 14+ extended statistics on that
expression let the planner see that only a handful of rows do (the queries test it with
IS TRUE, see communications.models.IsTrue). ANALYZE (autovacuum) keeps them current;
right after this migration every row is uncounted, so run ANALYZE on the outbox once
the sweep or rebuild_status_counts has counted the existing rows.
"""

import django.db.models.deletion
from django.db import migrations, models

import outbox.models

INDEX = models.Index(
    fields=["tenant"],
    condition=models.Q(
        outbox.models.IsTrue(
            models.Q(("counted_status", models.F("status")), _negated=True)
        )
    ),
    name="outbox_uncounted",
)
TABLE = "communications_outboundemail"
STATISTICS = "outbox_uncounted_stats"


def add_index(apps, schema_editor):
    model = apps.get_model("communications", "OutboundEmail")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.add_index(model, INDEX)
        return
    schema_editor.add_index(model, INDEX, concurrently=True)
    if schema_editor.connection.pg_version >= 140000:
        schema_editor.execute(
            f'CREATE STATISTICS IF NOT EXISTS "{STATISTICS}" '
            f'ON (("counted_status")::text <> ("status")::text) FROM "{TABLE}"'
        )


def remove_index(apps, schema_editor):
    model = apps.get_model("communications", "OutboundEmail")
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_index(model, INDEX)
        return
    schema_editor.execute(f'DROP STATISTICS IF EXISTS "{STATISTICS}"')
    schema_editor.remove_index(model, INDEX, concurrently=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("communications", "0004_search_trigram_index"),
        ("yaypay_mail", "0005_customer_by_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="StatusCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="status_counts",
                        to="yaypay_mail.tenant",
                    ),
                ),
                ("hour", models.DateTimeField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("sending", "Sending"),
                            ("sent", "Sent"),
                            ("error", "Error"),
                            ("cancelled", "Cancelled"),
                        ],
                        max_length=10,
                    ),
                ),
                ("count", models.BigIntegerField(db_default=0, default=0)),
                ("pruned", models.BigIntegerField(db_default=0, default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "hour", "status"), name="status_count_per_hour"
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="counted_status",
            field=models.CharField(blank=True, db_default="", default="", max_length=10),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="outboundemail", index=INDEX)],
            database_operations=[migrations.RunPython(add_index, remove_index)],
        ),
    ]
