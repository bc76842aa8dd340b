"""An import's life: upload and stage the file, check it (a dry run of the upsert
service), and on the admin's confirmation import it. Celery tasks run the last two."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import BinaryIO

from django.db import transaction
from django.utils import timezone

from yaypay_mail.models import ChangeSource, Tenant
from yaypay_mail.upserts import (
    MAX_ERRORS,
    Formats,
    UpsertReport,
    upsert_customers,
    upsert_invoices,
)

from .models import ImportJob, JobStatus
from .progress import JobProgress
from .reader import CsvFile
from .staging import drop_staged_rows, stage_rows, staged_records

logger = logging.getLogger(__name__)
STOPPED = (
    "The import stopped unexpectedly; nothing was imported. Upload the file again, and "
    "tell support if it happens again."
)
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
    """Stage the file and ask a worker to check it. Raises reader.FileRejected (nothing
    is kept) when the file as a whole cannot be read."""
    from .tasks import preview_import

    csv_file = CsvFile(stream, kind=options.kind, encoding=options.encoding)
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
            },
            unknown_columns=csv_file.unknown_columns,
        )
        job.rows_total = stage_rows(job, csv_file) + csv_file.error_count
        job.read_errors = error_dicts(csv_file.errors)
        job.read_error_count = csv_file.error_count
        job.save(update_fields=["rows_total", "read_errors", "read_error_count"])
        preview_import.delay_on_commit(job.pk)
    return job


def options_of(job: ImportJob) -> ImportOptions:
    return ImportOptions(
        kind=job.kind,
        encoding=job.options.get("encoding", "auto"),
        decimal=job.options.get("decimal", "point"),
        date_format=job.options.get("date_format", "iso"),
        sync=job.sync,
    )


def run_preview(job_id: int) -> None:
    job = ImportJob.objects.filter(
        pk=job_id, status__in=[JobStatus.UPLOADED, JobStatus.PREVIEWING]
    ).first()
    if job is None:
        return  # already checked (a redelivered task), or gone
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.PREVIEWING, rows_done=0)
    report = _run_staged(job, dry_run=True)
    if report is None:
        return
    _record(job, report, status=JobStatus.PREVIEWED)
    if job.error_count:
        drop_staged_rows(job)  # it can never be confirmed


def confirm_import(job: ImportJob) -> bool:
    """Start importing a checked job without errors; False if it is not one (any more)."""
    from .tasks import apply_import

    started = ImportJob.objects.filter(pk=job.pk, status=JobStatus.PREVIEWED, error_count=0).update(
        status=JobStatus.IMPORTING, rows_done=0
    )
    if started:
        apply_import.delay_on_commit(job.pk)
    return bool(started)


def run_import(job_id: int) -> None:
    job = ImportJob.objects.filter(pk=job_id, status=JobStatus.IMPORTING).first()
    if job is None:
        return
    report = _run_staged(job, dry_run=False)
    if report is None:
        return
    _record(job, report, status=JobStatus.DONE if report.applied else JobStatus.FAILED)
    if not report.applied:
        ImportJob.objects.filter(pk=job.pk).update(failure=CHANGED)
    drop_staged_rows(job)


def _run_staged(job: ImportJob, *, dry_run: bool) -> UpsertReport | None:
    progress = JobProgress(job.pk)
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
        ImportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, failure=STOPPED, finished_at=timezone.now()
        )
        drop_staged_rows(job)
        return None
    finally:
        progress.close()


def _record(job: ImportJob, report: UpsertReport, *, status: str) -> None:
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
    job.save()
