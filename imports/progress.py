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

from .models import ImportJob

logger = logging.getLogger(__name__)
EVERY_SECONDS = 0.5


class JobProgress:
    def __init__(self, job_id: int):
        self.job_id = job_id
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
            ImportJob.objects.filter(pk=self.job_id).update(rows_done=done)
            return
        table = connection.ops.quote_name(ImportJob._meta.db_table)
        try:
            with self.side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET rows_done = %s WHERE id = %s", [done, self.job_id]
                )  # noqa: S608
        except DatabaseError:
            logger.warning("Import progress not recorded", extra={"job_id": self.job_id})

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None
