"""The tenant's reminder settings page (/settings/reminders/): rhythm, sending limits,
time zone and locale in one form, the reminder email's text and logo in another (each
with its own submit, so one section's errors never cost the other its saved values),
and the email's preview."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dunning.forms import ReminderSettingsForm, ReminderTemplateForm
from dunning.models import ReminderTemplate
from dunning.placeholders import PLACEHOLDERS
from dunning.reminder_preview import render_preview
from dunning.services import reminder_settings_for
from outbox.limits import sending_limits_for
from yaypay_mail.tenancy import admin_required
from yaypay_mail.time_zones import offered_time_zones

SETTINGS, EMAIL = "settings", "email"


def _template_of(tenant) -> ReminderTemplate:
    # Created on the first save: until then the defaults apply.
    return ReminderTemplate.objects.filter(tenant=tenant).first() or ReminderTemplate(tenant=tenant)


@admin_required
def reminder_settings(request):
    tenant = request.tenant
    limits = sending_limits_for(tenant)
    settings_form = ReminderSettingsForm(instance=reminder_settings_for(tenant), limits=limits)
    template_form = ReminderTemplateForm(instance=_template_of(tenant))
    preview = None
    if request.method == "POST":
        section = request.POST.get("section", SETTINGS)
        if section == SETTINGS:
            settings_form = ReminderSettingsForm(
                request.POST, instance=settings_form.instance, limits=limits
            )
            if settings_form.is_valid():
                settings_form.save()
                messages.success(request, "Reminder settings saved.")
                return redirect("reminder_settings")
        elif section == EMAIL:
            template_form = ReminderTemplateForm(
                request.POST, request.FILES, instance=template_form.instance
            )
            if template_form.is_valid():
                if request.POST.get("action") == "preview":
                    preview = _preview_of(tenant, template_form)
                else:
                    template_form.save()
                    messages.success(request, "Reminder email saved.")
                    return redirect("/settings/reminders/#reminder-email")
    if preview is None and not template_form.errors:
        preview = _saved_preview(tenant, template_form)
    return render(
        request,
        "communications/reminder_settings.html",
        {
            "form": settings_form,
            "template_form": template_form,
            "time_zones": offered_time_zones(),
            "placeholders": PLACEHOLDERS,
            "preview_html": preview,
        },
    )


def _preview_of(tenant, form: ReminderTemplateForm) -> str:
    return render_preview(tenant, form.cleaned_data, form.logo_after_save()).html


def _saved_preview(tenant, form: ReminderTemplateForm) -> str:
    template = form.instance
    fields = {name: getattr(template, name) for name in form.Meta.fields}
    logo = (bytes(template.logo), template.logo_content_type) if template.logo else (None, "")
    return render_preview(tenant, fields, logo).html


@admin_required
@require_POST
def reminder_preview(request):
    """The email as the form's text would make it, for the page's live preview."""
    form = ReminderTemplateForm(request.POST, request.FILES, instance=_template_of(request.tenant))
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    response = HttpResponse(_preview_of(request.tenant, form), content_type="text/html")
    # Opened on its own, the preview can run nothing and load nothing.
    response["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    )
    return response
