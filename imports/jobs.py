"""An import's life: upload and stage the file, check it (a dry run of the upsert
service), and on the admin's confirmation import it. Celery tasks run the last two;
they import this module, never the reverse (imports.publish sends them)."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import BinaryIO

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from yaypay_mail.models import ChangeSource, Tenant
from yaypay_mail.upserts import (
    MAX_ERRORS,
    Formats,
    UpsertReport,
    upsert_customers,
    upsert_invoices,
)

from .models import AWAITING_CHECK, ImportJob, JobStatus
from .progress import JobProgress
from .reader import CsvFile
from .staging import drop_staged_rows, stage_rows, staged_records

logger = logging.getLogger(__name__)
STOPPED = (
    "The import stopped unexpectedly; nothing was imported. Upload the file again, and "
    "tell support if it happens again."
)
# A check without a heartbeat for this long has no live task (its publish failed, or its
# worker died): the beat sweep sends it again.
STALLED_AFTER = datetime.timedelta(minutes=2)
CHANGED = (
    "Nothing was imported: checked again against your current data, the file now has "
    "errors (listed below). Fix them and import it again."
)


@dataclass(frozen=True)
class ImportOptions:
    kind: str
    encoding: str = "auto"
    decimal: str = "point"
    date_format: str = "iso"
    sync: str = "upsert"
    delimiter: str = "auto"

    @property
    def formats(self) -> Formats:
        return Formats(decimal=self.decimal, date_format=self.date_format)


def error_dicts(errors) -> list[dict]:
    return [
        {"line": error.position, "field": error.field, "message": error.message} for error in errors
    ]


def run_upsert(
    *, tenant: Tenant, records, options: ImportOptions, dry_run: bool, actor=None, progress=None
) -> UpsertReport:
    """The shared service, as the page's worker and the command call it."""
    common = {
        "tenant": tenant,
        "records": records,
        "formats": options.formats,
        "dry_run": dry_run,
        "actor": actor,
        "source": ChangeSource.IMPORT,
        "progress": progress,
    }
    if options.kind == "customers":
        return upsert_customers(**common)
    return upsert_invoices(sync=options.sync, **common)


def start_import(
    *, tenant: Tenant, actor, stream: BinaryIO, file_name: str, options: ImportOptions
) -> ImportJob:
    """Stage the file, for a worker to check (imports.publish.send_on_commit asks one).
    Raises reader.FileRejected (nothing is kept) when the file as a whole cannot be read."""
    csv_file = CsvFile(
        stream, kind=options.kind, encoding=options.encoding, delimiter=options.delimiter
    )
    with transaction.atomic():
        job = ImportJob.objects.create(
            tenant=tenant,
            actor=actor,
            file_name=file_name[:255],
            kind=options.kind,
            sync=options.sync,
            options={
                "encoding": options.encoding,
                "encoding_used": csv_file.encoding.removesuffix("-sig"),
                "decimal": options.decimal,
                "date_format": options.date_format,
                "delimiter": options.delimiter,
                "delimiter_used": csv_file.delimiter_name,
            },
            unknown_columns=csv_file.unknown_columns,
            heartbeat_at=timezone.now(),
        )
        job.rows_total = stage_rows(job, csv_file) + csv_file.error_count
        job.read_errors = error_dicts(csv_file.errors)
        job.read_error_count = csv_file.error_count
        job.save(update_fields=["rows_total", "read_errors", "read_error_count"])
    return job


def options_of(job: ImportJob) -> ImportOptions:
    return ImportOptions(
        kind=job.kind,
        encoding=job.options.get("encoding", "auto"),
        decimal=job.options.get("decimal", "point"),
        date_format=job.options.get("date_format", "iso"),
        sync=job.sync,
        delimiter=job.options.get("delimiter", "auto"),
    )


def _claim_check(job_id: int) -> ImportJob | None:
    """Take the job's check: one published and not yet taken (uploaded), or one whose
    worker stopped reporting (previewing, stalled). A guarded UPDATE, so of two tasks
    for one job (the original comes back after the sweep re-sent it) only one runs; a
    claimant that is superseded all the same (it stalled, yet lives) records nothing."""
    now = timezone.now()
    stalled = Q(heartbeat_at__lt=now - STALLED_AFTER) | Q(heartbeat_at__isnull=True)
    jobs = ImportJob.objects.filter(pk=job_id).filter(
        Q(status=JobStatus.UPLOADED) | Q(stalled, status=JobStatus.PREVIEWING)
    )
    job = jobs.first()
    if job is None:
        return None  # already checked or being checked (a redelivered task), or gone
    run = job.check_run + 1
    if not jobs.filter(check_run=job.check_run).update(
        status=JobStatus.PREVIEWING, rows_done=0, heartbeat_at=now, check_run=run
    ):
        return None
    job.status, job.check_run = JobStatus.PREVIEWING, run
    return job


def run_preview(job_id: int) -> None:
    job = _claim_check(job_id)
    if job is None:
        return
    mine = {"status": JobStatus.PREVIEWING, "check_run": job.check_run}
    report = _run_staged(job, dry_run=True, guard=mine)
    if report is None:
        return
    if _record(job, report, status=JobStatus.PREVIEWED, guard=mine) and job.error_count:
        drop_staged_rows(job)  # it can never be confirmed


def stalled_checks() -> list[int]:
    """Jobs awaiting their check without a live task for STALLED_AFTER, each marked as
    published again (uploaded, heartbeat now) for the caller to re-send. Two sweeps at
    once do not both take a job: the UPDATE is guarded by the heartbeat it read."""
    cutoff = timezone.now() - STALLED_AFTER
    found = ImportJob.objects.filter(status__in=AWAITING_CHECK).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    )
    taken = []
    for pk, status, heartbeat_at in found.values_list("pk", "status", "heartbeat_at")[:100]:
        if ImportJob.objects.filter(pk=pk, status=status, heartbeat_at=heartbeat_at).update(
            status=JobStatus.UPLOADED, heartbeat_at=timezone.now()
        ):
            taken.append(pk)
    if taken:
        logger.warning("Import checks re-sent", extra={"job_ids": taken})
    return taken


def confirm_import(job: ImportJob) -> bool:
    """Mark a checked job without errors as importing, for a worker to import
    (imports.publish.send_on_commit asks one); False if it is not one (any more)."""
    started = ImportJob.objects.filter(pk=job.pk, status=JobStatus.PREVIEWED, error_count=0).update(
        status=JobStatus.IMPORTING, rows_done=0
    )
    return bool(started)


def unconfirm(job_id: int) -> None:
    """The import could not be handed to a worker: back to checked, to confirm again."""
    ImportJob.objects.filter(pk=job_id, status=JobStatus.IMPORTING).update(
        status=JobStatus.PREVIEWED, rows_done=0
    )


def run_import(job_id: int) -> None:
    job = ImportJob.objects.filter(pk=job_id, status=JobStatus.IMPORTING).first()
    if job is None:
        return
    report = _run_staged(job, dry_run=False)
    if report is None:
        return
    status = JobStatus.DONE if report.applied else JobStatus.FAILED
    _record(job, report, status=status, guard={"status": JobStatus.IMPORTING})
    if not report.applied:
        ImportJob.objects.filter(pk=job.pk).update(failure=CHANGED)
    drop_staged_rows(job)


def _run_staged(job: ImportJob, *, dry_run: bool, guard: dict | None = None) -> UpsertReport | None:
    progress = JobProgress(job.pk, guard=guard)
    try:
        return run_upsert(
            tenant=job.tenant,
            records=staged_records(job),
            options=options_of(job),
            dry_run=dry_run,
            actor=job.actor,
            progress=progress,
        )
    except Exception:
        logger.exception("Import failed", extra={"job_id": job.pk, "tenant_id": job.tenant_id})
        if ImportJob.objects.filter(pk=job.pk, **(guard or {})).update(
            status=JobStatus.FAILED, failure=STOPPED, finished_at=timezone.now()
        ):
            drop_staged_rows(job)
        return None
    finally:
        progress.close()


def _record(job: ImportJob, report: UpsertReport, *, status: str, guard: dict) -> bool:
    """Write the outcome if the job is still as `guard` says; False if it is not."""
    errors = sorted(
        [*job.read_errors, *error_dicts(report.errors)], key=lambda error: error["line"]
    )
    job.status = status
    job.rows_done = job.rows_total
    job.created, job.updated, job.unchanged = report.created, report.updated, report.unchanged
    job.marked_paid = report.marked_paid
    job.marked_paid_numbers = report.marked_paid_numbers
    job.errors = errors[:MAX_ERRORS]
    job.error_count = job.read_error_count + report.error_count
    if status != JobStatus.PREVIEWED or job.error_count:
        job.finished_at = timezone.now()
    fields = (
        "status rows_done created updated unchanged marked_paid marked_paid_numbers "
        "errors error_count finished_at"
    ).split()
    values = {name: getattr(job, name) for name in fields}
    return bool(ImportJob.objects.filter(pk=job.pk, **guard).update(**values))
