"""An import's history (ImportJob) and its rows while it is checked and applied
(StagedRow): the upload is staged in the database because the worker that checks and
imports it may run on another machine than the web process that received it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from yaypay_mail.models import Tenant


class JobStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    PREVIEWING = "previewing", "Checking"
    PREVIEWED = "previewed", "Checked"
    IMPORTING = "importing", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"


RUNNING = (JobStatus.UPLOADED, JobStatus.PREVIEWING, JobStatus.IMPORTING)
# The states a check is published in; a job left in one without a live task is re-sent.
AWAITING_CHECK = (JobStatus.UPLOADED, JobStatus.PREVIEWING)


class ImportJob(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=10)  # customers | invoices
    # encoding (as chosen, and as detected), decimal, date_format
    options = models.JSONField(default=dict)
    sync = models.CharField(max_length=10, default="upsert")
    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.UPLOADED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    # The preview's counts, then (status done) what the import changed.
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    marked_paid = models.PositiveIntegerField(default=0)
    marked_paid_numbers = models.JSONField(default=list)
    # [{"line", "field", "message"}], sorted by line, the first 1,000; error_count counts all.
    errors = models.JSONField(default=list)
    error_count = models.PositiveIntegerField(default=0)
    # Rows the reader could not read (kept apart so that a re-run check does not repeat them).
    read_errors = models.JSONField(default=list)
    read_error_count = models.PositiveIntegerField(default=0)
    unknown_columns = models.JSONField(default=list)
    failure = models.TextField(blank=True)  # why a failed job stopped
    # When the check was last published, claimed by a worker, or reported progress: a job
    # awaiting its check with an older one than a couple of minutes has no live task.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Bumped by each worker that claims the check: only the latest claimant records it.
    check_run = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="import_job_latest"),
            # imports.tasks.resend_stalled_imports (beat) looks for stalled checks.
            models.Index(
                fields=["heartbeat_at"],
                name="import_job_awaiting_check",
                condition=models.Q(status__in=["uploaded", "previewing"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} import {self.file_name} ({self.status})"

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    @property
    def can_confirm(self) -> bool:
        return self.status == JobStatus.PREVIEWED and not self.error_count


class StagedRow(models.Model):
    """One record of an upload, as the reader produced it; deleted when the job ends."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()  # the physical line where the record starts
    values = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="staged_row_job_position")
        ]

    def __str__(self) -> str:
        return f"line {self.position} of import {self.job_id}"
