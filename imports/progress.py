"""A job's rows-done counter, written while the upsert service's transaction is open.

The service checks and writes a whole file in one transaction, so an UPDATE made on
the same connection would stay invisible to the progress page until the end. On
PostgreSQL the counter is therefore written over a second, autocommit connection of
its own; on SQLite (development, tests), or inside an outer transaction, it is written
on the current connection and shows when that commits.
"""

from __future__ import annotations

import logging
import time

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.utils import timezone

from .models import ImportJob

logger = logging.getLogger(__name__)
EVERY_SECONDS = 0.5


class JobProgress:
    """Writes rows done and the job's heartbeat (a check that stops beating is re-sent by
    the beat sweep); with `guard` ({"check_run": n, ...}), only while the job matches it."""

    def __init__(self, job_id: int, guard: dict | None = None):
        self.job_id = job_id
        self.guard = guard or {}
        self.last_written = 0.0
        self.side = None
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last_written >= EVERY_SECONDS:
            self.last_written = now
            self._write(done)

    def _write(self, done: int) -> None:
        if self.side is None:
            ImportJob.objects.filter(pk=self.job_id, **self.guard).update(
                rows_done=done, heartbeat_at=timezone.now()
            )
            return
        table = connection.ops.quote_name(ImportJob._meta.db_table)
        # Column names from the model's own fields, values as parameters.
        where = "".join(f" AND {connection.ops.quote_name(name)} = %s" for name in self.guard)
        try:
            with self.side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET rows_done = %s, heartbeat_at = %s WHERE id = %s{where}",  # noqa: S608
                    # Enum members as their values (psycopg would write an Enum's name).
                    [done, timezone.now(), self.job_id]
                    + [getattr(value, "value", value) for value in self.guard.values()],
                )
        except DatabaseError:
            logger.warning("Import progress not recorded", extra={"job_id": self.job_id})

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None
