from __future__ import annotations

import re

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from communications import bulk_resend
from communications.detail import email_detail_context
from communications.exports import csv_filename, csv_response, emails_csv, export_refused
from communications.filters import EmailListFilters, with_query
from communications.listing import known_filters, matching_emails
from outbox.models import Kind, OutboundEmail, Status
from outbox.services import outbox_resend
from yaypay_mail.formatting import format_number
from yaypay_mail.models import Role
from yaypay_mail.paging import keyset_page
from yaypay_mail.tenancy import get_for_tenant, role_required

PAGE_SIZE = 50
DAY_TYPED = re.compile(r"\d{4}-\d{2}-\d{2}")
# Pages build their Resend `next` from known filters only, so a longer one is not theirs.
MAX_NEXT_LENGTH = 2000
RESENDING_ROLES = (Role.ADMIN, Role.COLLECTOR)


@role_required()
def email_list(request):
    form = EmailListFilters(request.GET)
    if not form.is_valid():
        # Bad input (a tampered cursor too) runs no query: the page says what is wrong.
        return _render_list(request, form, page=None, customer=None, status=400)
    matching = matching_emails(request, form.cleaned_data)
    # ?page=N (old links) is valid and ignored: the first page, never an OFFSET.
    page = keyset_page(matching.emails, form.cleaned_data["cursor"], size=PAGE_SIZE)
    return _render_list(
        request,
        form,
        page=page,
        customer=matching.customer,
        time_zone=matching.time_zone,
        locale=matching.locale,
    )


def _render_list(
    request,
    form,
    *,
    page,
    customer,
    time_zone: str = "",
    locale: str = "",
    status: int = 200,
):
    """The list page; every link and Resend form on it carries only the cleaned filters."""
    cleaned = form.cleaned_data  # after a failed is_valid(), the fields that were valid
    filters = known_filters(cleaned)
    list_url = reverse("communications")
    # Resend comes back to this very page: its raw cursor, which was valid.
    cursor = request.GET.get("cursor") if cleaned.get("cursor") else None
    can_resend = request.membership.role in RESENDING_ROLES
    error_ids = [e.pk for e in page.object_list if e.status == Status.ERROR] if page else []
    return render(
        request,
        "communications/email_list.html",
        {
            "form": form,
            "page": page,
            "status": filters.get("status", ""),
            "statuses": Status.choices,
            "kind": filters.get("kind", ""),
            "kinds": Kind.choices,
            # A refused day (To before From) stays in its box beside the error.
            "date_from": filters.get("date_from") or _typed_day(form, "date_from"),
            "date_to": filters.get("date_to") or _typed_day(form, "date_to"),
            "customer": customer,
            "q": filters.get("q", ""),
            "filters": filters,
            "on_later_page": cursor is not None,
            "first_url": with_query(list_url, filters),
            "next_url": with_query(list_url, {**filters, "cursor": cursor}),
            "all_customers_url": with_query(list_url, {**filters, "customer": None}),
            "export_url": with_query(reverse("communications_export"), filters),
            "time_zone": time_zone or request.tenant.time_zone,
            # Read with the time zone already; else the context processor's (lazy) one.
            **({"tenant_locale": locale} if locale else {}),
            "can_bulk_resend": can_resend and bool(error_ids),
            "page_error_ids": ",".join(str(pk) for pk in error_ids),
            # Offered where this page shows an Error email (no extra query: the list is
            # one outbox query); on the Error list, any row is one.
            "all_matching_offered": can_resend
            and bool(error_ids)
            and filters.get("status", Status.ERROR) == Status.ERROR,
        },
        status=status,
    )


def _typed_day(form, name: str) -> str:
    """What the person typed for a refused day, when it is a day an <input type=date>
    can show (YYYY-MM-DD); anything else would not show there anyway."""
    typed = form.data.get(name, "")
    return typed if name in form.errors and DAY_TYPED.fullmatch(typed) else ""


@role_required()
def email_export(request):
    """/communications/export.csv with the list's filters (a cursor or page is ignored):
    every matching email, newest first, streamed in constant memory."""
    form = EmailListFilters(request.GET)
    if not form.is_valid():
        return export_refused(form)
    matching = matching_emails(request, form.cleaned_data)
    return csv_response(
        emails_csv(matching.emails, time_zone=matching.time_zone),
        filename=csv_filename(matching.time_zone),
    )


@role_required()
def email_detail(request, pk: int):
    # The customer's name is on the page: joined, not a second query.
    email = get_for_tenant(request, OutboundEmail.objects.select_related("customer"), pk)
    time_zone = request.tenant.time_zone
    return render(
        request,
        "communications/email_detail.html",
        email_detail_context(email, tenant=request.tenant, time_zone=time_zone),
    )


@require_http_methods(["GET", "POST"])
@role_required(*RESENDING_ROLES)
def email_bulk_resend(request):
    """/communications/resend/: GET confirms what would be resent, POST resends it.
    The pick (ids, or all_matching=1) and the list's filters come in the query string
    or the form; back to the list with those filters afterwards."""
    data = request.POST if request.method == "POST" else request.GET
    form = EmailListFilters(data)
    if not form.is_valid():
        return _render_list(request, form, page=None, customer=None, status=400)
    filters = known_filters(form.cleaned_data)
    list_url = with_query(reverse("communications"), filters)
    try:
        selection = bulk_resend.parse_selection(data)
    except bulk_resend.SelectionError as error:
        messages.error(request, str(error))
        return redirect(list_url)
    matching = matching_emails(request, form.cleaned_data)
    blocked = bulk_resend.blocked_reason(request.tenant)
    locale = matching.locale
    if request.method == "POST" and not blocked:
        outcome = bulk_resend.resend(request.tenant, selection, matching.emails)
        report = messages.error if outcome.stopped else messages.success
        report(request, outcome.message(locale))
        if outcome.queued:
            # Where they went: the Error list would now be empty and say nothing.
            return redirect(with_query(reverse("communications"), {**filters, "status": "queued"}))
        return redirect(list_url)
    picked = bulk_resend.picked_emails(request.tenant, selection, matching.emails)
    preview = bulk_resend.preview(request.tenant, selection, picked)
    return render(
        request,
        "communications/bulk_resend_confirm.html",
        {
            "selection": selection,
            "preview": preview,
            "count_text": format_number(preview.count, locale),
            "cap_text": format_number(bulk_resend.COUNT_CAP, locale),
            "filters": filters,
            "customer": matching.customer,
            "list_url": list_url,
            "blocked": blocked,
            "time_zone": matching.time_zone,
            "tenant_locale": locale,
        },
        # Refused: the page says why, and nothing was resent.
        status=409 if blocked and request.method == "POST" else 200,
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
