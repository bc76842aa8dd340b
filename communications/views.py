from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from yaypay_mail.models import Customer, Role
from yaypay_mail.tenancy import admin_required, get_for_tenant, role_required

from .forms import ReminderSettingsForm
from .models import OutboundEmail, Status
from .selectors import emails_for_tenant
from .services import outbox_resend, reminder_settings_for

PAGE_SIZE = 50


@role_required()
def email_list(request):
    status = request.GET.get("status", "")
    if status not in Status.values:
        status = ""
    customer = None
    if customer_id := request.GET.get("customer", ""):
        try:
            customer = get_for_tenant(request, Customer, int(customer_id))
        except ValueError:
            raise Http404 from None
    q = request.GET.get("q", "").strip()

    emails = emails_for_tenant(request.tenant, status=status or None, customer=customer, q=q)
    page = Paginator(emails, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "communications/email_list.html",
        {
            "page": page,
            "status": status,
            "statuses": Status.choices,
            "customer": customer,
            "q": q,
            "time_zone": reminder_settings_for(request.tenant).time_zone,
        },
    )


@role_required()
def email_detail(request, pk: int):
    email = get_for_tenant(request, OutboundEmail, pk)
    return render(
        request,
        "communications/email_detail.html",
        {
            "email": email,
            "attempts": email.attempts.all(),
            "time_zone": reminder_settings_for(request.tenant).time_zone,
        },
    )


@require_POST
@role_required()
def email_resend(request, pk: int):
    email = get_for_tenant(request, OutboundEmail, pk, roles=(Role.ADMIN, Role.COLLECTOR))
    result = outbox_resend(email=email)
    if result.ok:
        messages.success(request, result.message)
    else:
        messages.error(request, result.message)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("email_detail", args=[email.pk])
    return redirect(next_url)


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
