"""Celery entry points of an import, taking the job's id: check the staged file (a dry
run), then, once an admin confirms, import it; and beat's sweep of stalled checks."""

from __future__ import annotations

from celery import shared_task

from .jobs import run_import, run_preview, stalled_checks
from .publish import send


@shared_task(acks_late=True)
def preview_import(job_id: int) -> None:
    run_preview(job_id)


@shared_task(acks_late=True)
def apply_import(job_id: int) -> None:
    run_import(job_id)


@shared_task
def resend_stalled_imports() -> int:
    """Beat, every minute: send again each check left without a live task for two
    minutes (its publish failed while the broker was down, or its worker died).
    Sending twice is safe: a check runs once per claim, and only its latest claimant
    records it. Returns how many were sent."""
    return sum(send(preview_import, job_id) for job_id in stalled_checks())
