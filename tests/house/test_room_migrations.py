"""Moving models into their rooms (outbox, dunning, routes) changed no table: the schema
before and after the state-only migrations is the same, on PostgreSQL where indexes and
constraints are real. And the sending limits and the time zone, which moved out of the
reminder settings, keep every tenant's values."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# The new rooms not there yet: the models still in communications and settings_app.
BEFORE_THE_MOVE = [("outbox", None), ("dunning", None), ("routes", None)]
# Their first migrations, and the old apps' state forgetting the models.
AFTER_THE_MOVE = [
    ("outbox", "0001_initial"),
    ("dunning", "0001_initial"),
    ("routes", "0001_initial"),
    ("communications", "0012_models_moved_to_outbox_and_dunning"),
    ("settings_app", "0004_models_moved_to_routes"),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def leaves():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def schema() -> dict[str, list]:
    """Tables, columns (type, nullability, default), indexes and constraints."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT table_name, column_name, data_type, is_nullable, column_default
            FROM information_schema.columns WHERE table_schema = 'public'
            ORDER BY table_name, column_name"""
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "ORDER BY indexname"
        )
        indexes = cursor.fetchall()
        cursor.execute(
            """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE connamespace = 'public'::regnamespace ORDER BY conname"""
        )
        constraints = cursor.fetchall()
    return {"columns": columns, "indexes": indexes, "constraints": constraints}


@pytest.mark.django_db(transaction=True)
def test_the_state_only_moves_change_no_table():
    if connection.vendor != "postgresql":
        pytest.skip("the schema comparison reads PostgreSQL's catalogue (CI runs it)")
    latest = leaves()
    try:
        migrate(BEFORE_THE_MOVE)
        before = schema()
        migrate(AFTER_THE_MOVE)
        after = schema()
    finally:
        migrate(latest)
    assert after == before
    assert any(name == "communications_outboundemail" for name, *_ in before["columns"])


@pytest.mark.django_db(transaction=True)
def test_limits_and_the_time_zone_keep_each_tenants_values():
    latest = leaves()
    try:
        executor = migrate([("dunning", "0001_initial")])
        apps = executor.loader.project_state(
            [
                ("dunning", "0001_initial"),
                ("outbox", "0002_sending_limits"),
                ("yaypay_mail", "0009_tenant_time_zone"),
            ]
        ).apps
        Tenant = apps.get_model("yaypay_mail", "Tenant")
        ReminderSettings = apps.get_model("dunning", "ReminderSettings")
        SendingLimits = apps.get_model("outbox", "SendingLimits")
        berlin = Tenant.objects.create(name="Berlin GmbH")
        plain = Tenant.objects.create(name="No Settings Ltd")
        ReminderSettings.objects.create(
            tenant=berlin, time_zone="Europe/Berlin", per_minute_limit=7, per_day_limit=70
        )
        SendingLimits.objects.filter(tenant__in=[berlin, plain]).delete()

        executor = migrate(latest)
        apps = executor.loader.project_state(latest).apps
        Tenant = apps.get_model("yaypay_mail", "Tenant")
        SendingLimits = apps.get_model("outbox", "SendingLimits")
        assert Tenant.objects.get(pk=berlin.pk).time_zone == "Europe/Berlin"
        assert Tenant.objects.get(pk=plain.pk).time_zone == "UTC"
        moved = SendingLimits.objects.get(tenant_id=berlin.pk)
        assert (moved.per_minute_limit, moved.per_day_limit) == (7, 70)
        fresh = SendingLimits.objects.get(tenant_id=plain.pk)
        assert (fresh.per_minute_limit, fresh.per_day_limit) == (30, 2000)
    finally:
        migrate(latest)
