"""Imports pages, for admins: upload a file, watch it being checked, confirm, history."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dunning.services import reminder_settings_for
from yaypay_mail.models import Role
from yaypay_mail.tenancy import admin_required, get_for_tenant

from . import messages as say
from .forms import ImportForm, locale_defaults
from .jobs import ImportOptions, confirm_import, start_import, unconfirm
from .models import ImportJob, JobStatus
from .publish import send_on_commit
from .reader import FileRejected
from .tasks import apply_import, preview_import

HISTORY = 20


@admin_required
def imports_home(request):
    # Amounts and dates preselected as the tenant writes them (its reminder settings' locale).
    initial = locale_defaults(reminder_settings_for(request.tenant).locale)
    form = ImportForm(initial=initial)
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, initial=initial)
        if form.is_valid():
            data = form.cleaned_data
            upload = data["file"]
            options = ImportOptions(
                kind=data["kind"],
                encoding=data["encoding"],
                decimal=data["decimal"],
                date_format=data["date_format"],
                sync=data["sync"],
                delimiter=data["delimiter"],
            )
            try:
                job = start_import(
                    tenant=request.tenant,
                    actor=request.user,
                    stream=upload.file,
                    file_name=upload.name,
                    options=options,
                )
            except FileRejected as error:
                form.add_error("file", f"Nothing was imported. {error}")
            else:
                send_on_commit(preview_import, job.pk)
                return redirect("import_detail", pk=job.pk)
        status = 400
    jobs = ImportJob.objects.filter(tenant=request.tenant).select_related("actor")[:HISTORY]
    return render(request, "imports/imports.html", {"form": form, "jobs": jobs}, status=status)


def _job(request, pk: int) -> ImportJob:
    return get_for_tenant(request, ImportJob, pk, roles=(Role.ADMIN,))


@admin_required
def import_detail(request, pk: int):
    job = _job(request, pk)
    applied = job.status == JobStatus.DONE
    return render(
        request,
        "imports/import_detail.html",
        {
            "job": job,
            "counts": say.counts(job.kind, job.created, job.updated, job.unchanged),
            "marked_paid": say.marked_paid(job.marked_paid, applied=applied),
            "error_lines": say.error_lines(job.errors),
            "more_errors": job.error_count - len(job.errors),
            "nothing_imported": say.nothing_imported(job.error_count),
            "unknown_columns": say.unknown_columns(job.unknown_columns),
        },
    )


@admin_required
def import_status(request, pk: int):
    job = _job(request, pk)
    return JsonResponse(
        {
            "status": job.status,
            "rows_done": job.rows_done,
            "rows_total": job.rows_total,
            "running": job.running,
        }
    )


@require_POST
@admin_required
def import_confirm(request, pk: int):
    job = _job(request, pk)
    if confirm_import(job):
        send_on_commit(apply_import, job.pk, on_failure=_could_not_start(request))
    else:
        messages.error(request, "This import cannot be confirmed (any more).")
    return redirect("import_detail", pk=job.pk)


def _could_not_start(request):
    def say_so(job_id: int) -> None:
        unconfirm(job_id)
        messages.error(
            request,
            "The import could not be started: the task queue is not reachable right now. "
            "Nothing was imported; confirm again in a minute.",
        )

    return say_so


SAMPLES = ("customers", "invoices")


@admin_required
def import_sample(request, kind: str):
    """The demo files, as a starting point to fill from an ERP export."""
    if kind not in SAMPLES:
        raise Http404
    return FileResponse(
        (settings.BASE_DIR / "demo" / f"{kind}.csv").open("rb"),
        as_attachment=True,
        filename=f"yaypay-sample-{kind}.csv",
        content_type="text/csv; charset=utf-8",
    )
