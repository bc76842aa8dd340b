"""Celery entry points of an import, taking the job's id: check the staged file (a dry
run), then, once an admin confirms, import it."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def preview_import(job_id: int) -> None:
    from .jobs import run_preview

    run_preview(job_id)


@shared_task(acks_late=True)
def apply_import(job_id: int) -> None:
    from .jobs import run_import

    run_import(job_id)
