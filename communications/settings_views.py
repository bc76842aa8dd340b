"""The tenant's reminder settings page (/settings/reminders/): rhythm, sending limits,
time zone and locale."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from yaypay_mail.tenancy import admin_required

from .forms import ReminderSettingsForm
from .services import reminder_settings_for


@admin_required
def reminder_settings(request):
    instance = reminder_settings_for(request.tenant)
    if request.method == "POST":
        form = ReminderSettingsForm(request.POST, instance=instance)
        if form.is_valid():
            form.save()
            messages.success(request, "Reminder settings saved.")
            return redirect("reminder_settings")
    else:
        form = ReminderSettingsForm(instance=instance)
    return render(request, "communications/reminder_settings.html", {"form": form})
