from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from yaypay_mail.models import Customer, Role
from yaypay_mail.tenancy import get_for_tenant, role_required

from .exports import csv_filename, csv_response, emails_csv, export_refused
from .filters import EmailListFilters, with_query
from .models import OutboundEmail, Status
from .paging import keyset_page
from .selectors import emails_for_tenant
from .services import outbox_resend, reminder_settings_for

PAGE_SIZE = 50
FILTERS = ("status", "customer", "q")
# Pages build their Resend `next` from known filters only, so a longer one is not theirs.
MAX_NEXT_LENGTH = 2000


@role_required()
def email_list(request):
    form = EmailListFilters(request.GET)
    if not form.is_valid():
        # Bad input (a tampered cursor too) runs no query: the page says what is wrong.
        return _render_list(request, form, page=None, customer=None, status=400)
    filters = form.cleaned_data
    customer = None
    if filters["customer"] is not None:
        customer = get_for_tenant(request, Customer, filters["customer"])
    emails = emails_for_tenant(
        request.tenant, status=filters["status"] or None, customer=customer, q=filters["q"]
    )
    # ?page=N (old links) is valid and ignored: the first page, never an OFFSET.
    page = keyset_page(emails, filters["cursor"], size=PAGE_SIZE)
    return _render_list(request, form, page=page, customer=customer)


def _render_list(request, form, *, page, customer, status: int = 200):
    """The list page; every link and Resend form on it carries only the cleaned filters."""
    cleaned = form.cleaned_data  # after a failed is_valid(), the fields that were valid
    filters = _known_filters(cleaned)
    list_url = reverse("communications")
    # Resend comes back to this very page: its raw cursor, which was valid.
    cursor = request.GET.get("cursor") if cleaned.get("cursor") else None
    return render(
        request,
        "communications/email_list.html",
        {
            "form": form,
            "page": page,
            "status": filters.get("status", ""),
            "statuses": Status.choices,
            "customer": customer,
            "q": filters.get("q", ""),
            "filters": filters,
            "on_later_page": cursor is not None,
            "first_url": with_query(list_url, filters),
            "next_url": with_query(list_url, {**filters, "cursor": cursor}),
            "all_customers_url": with_query(list_url, {**filters, "customer": None}),
            "export_url": with_query(reverse("communications_export"), filters),
            "time_zone": reminder_settings_for(request.tenant).time_zone,
        },
        status=status,
    )


def _known_filters(cleaned) -> dict:
    filters = {name: cleaned.get(name) for name in FILTERS}
    return {name: value for name, value in filters.items() if value}


@role_required()
def email_export(request):
    """/communications/export.csv with the list's filters (status, customer, q; a cursor
    or page is ignored): every matching email, newest first, streamed in constant memory."""
    form = EmailListFilters(request.GET)
    if not form.is_valid():
        return export_refused(form)
    filters = form.cleaned_data
    customer = None
    if filters["customer"] is not None:
        customer = get_for_tenant(request, Customer, filters["customer"])
    emails = emails_for_tenant(
        request.tenant, status=filters["status"] or None, customer=customer, q=filters["q"]
    )
    time_zone = reminder_settings_for(request.tenant).time_zone
    return csv_response(emails_csv(emails, time_zone=time_zone), filename=csv_filename(time_zone))


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
    return redirect(_safe_next(request) or reverse("email_detail", args=[email.pk]))


def _safe_next(request) -> str:
    """The posted `next` if it is a short path on this site, else ""."""
    next_url = request.POST.get("next", "")
    if len(next_url) > MAX_NEXT_LENGTH or any(ord(char) < 32 for char in next_url):
        return ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    return next_url
