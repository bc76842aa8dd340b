"""The staging table: an upload's records written in chunks as the file is read (never
the whole file in memory), and read back in line order by the worker."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from yaypay_mail.upserts import RawRecord

from .models import ImportJob, StagedRow

CHUNK = 2000


def stage_rows(job: ImportJob, records: Iterable[RawRecord]) -> int:
    """Insert every record as a StagedRow of `job`; returns how many."""
    batch: list[StagedRow] = []
    staged = 0
    for record in records:
        batch.append(StagedRow(job=job, position=record.position, values=record.values))
        if len(batch) >= CHUNK:
            StagedRow.objects.bulk_create(batch)
            staged += len(batch)
            batch = []
    StagedRow.objects.bulk_create(batch)
    return staged + len(batch)


def staged_records(job: ImportJob) -> Iterator[RawRecord]:
    rows = (
        StagedRow.objects.filter(job=job)
        .order_by("position")
        .values_list("position", "values")
        .iterator(chunk_size=CHUNK)
    )
    for position, values in rows:
        yield RawRecord(position=position, values=values)


def drop_staged_rows(job: ImportJob) -> None:
    StagedRow.objects.filter(job=job).delete()
