"""Communications ?kind=reminder|manual: an index on (tenant, kind, created_at DESC, id
DESC), so a page of the rarer kind starts at its cursor in the index instead of reading
the tenant's whole history through outbox_tenant_created and dropping the other kind.
With ?status= too, outbox_tenant_status_created serves the page and kind is a filter.

Kept outside OutboundEmail.Meta.indexes like outbox_search_trgm (0004): the model's state
does not change, so no later migration drops it. Built CONCURRENTLY on PostgreSQL (this
migration is not atomic), since the outbox is large and takes writes all the time; the
plan is in docs/performance.md ("Communications ?kind=").
"""

from django.db import migrations

INDEX = "outbox_tenant_kind_created"
COLUMNS = '("tenant_id", "kind", "created_at" DESC, "id" DESC)'


def forwards(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f'CREATE INDEX {concurrently}IF NOT EXISTS "{INDEX}" '
        f'ON "communications_outboundemail" {COLUMNS}'
    )


def backwards(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f'DROP INDEX {concurrently}IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("communications", "0008_reminder_template_locale_route"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
