"""The Customers list's ?q= on PostgreSQL: one GIN trigram index over the three
expressions the search runs (statements.customer_selectors.customer_page:
name, external_id and billing_email __icontains, which Django compiles to
UPPER(<column>::text) LIKE UPPER(...)); nothing on SQLite. Built CONCURRENTLY, as the
outbox's search index is (communications/migrations/0004)."""

from django.db import migrations

INDEX = "customer_search_trgm"

CREATE = f"""
CREATE INDEX CONCURRENTLY IF NOT EXISTS "{INDEX}" ON "yaypay_mail_customer"
USING gin (
    (UPPER("name"::text)) gin_trgm_ops,
    (UPPER("external_id"::text)) gin_trgm_ops,
    (UPPER("billing_email"::text)) gin_trgm_ops
)
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("yaypay_mail", "0007_customer_paused_by_name"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
