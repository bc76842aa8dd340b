"""q= search on PostgreSQL: pg_trgm and one GIN trigram index over the three expressions
the search runs (communications.selectors.search_filter); nothing on SQLite.

Django compiles `subject__icontains` to UPPER("subject"::text) LIKE UPPER(...) and
`to_text__icontains` (to_text = Cast(to_addresses, TextField())) to
UPPER(("to_addresses")::text::text) LIKE UPPER(...); PostgreSQL folds text::text and
varchar::text, so these index expressions are exactly those of the query (checked by
EXPLAIN in tests/communications/test_search_indexes.py).

One multicolumn GIN index rather than three: a search's OR becomes a BitmapOr of three
scans of it, and a status change (never a HOT update) writes one GIN entry set, not three.
Built CONCURRENTLY (so the migration is not atomic), since the outbox is large and takes
writes all the time. pg_trgm is a trusted extension (PostgreSQL 13+): the database owner
may create it; on a managed database without that right, create it once as a superuser.
"""

from django.db import migrations

INDEX = "outbox_search_trgm"

CREATE = f"""
CREATE INDEX CONCURRENTLY IF NOT EXISTS "{INDEX}" ON "communications_outboundemail"
USING gin (
    (UPPER("subject"::text)) gin_trgm_ops,
    (UPPER(("to_addresses")::text)) gin_trgm_ops,
    (UPPER(("cc_addresses")::text)) gin_trgm_ops
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
    # pg_trgm stays: other schemas may use it.
    schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("communications", "0003_list_indexes"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
