from __future__ import annotations

from datetime import timedelta

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from communications.filters import with_query
from communications.models import Status
from communications.selectors import emails_for_customer, recent_errors, status_counts
from communications.services import reminder_settings_for
from settings_app.services import settings_for
from yaypay_mail.models import Customer
from yaypay_mail.tenancy import get_for_tenant, role_required

from .filters import StatementFilters
from .selectors import (
    BUCKET_LABELS,
    aging_report,
    open_invoices,
    open_totals_by_currency,
    tenant_today,
)

DASHBOARD_DAYS = 7
EMAILS_PER_PAGE = 50


@role_required()
def dashboard(request):
    counts = status_counts(request.tenant, since=timezone.now() - timedelta(days=DASHBOARD_DAYS))
    outgoing = settings_for(request.tenant)
    return render(
        request,
        "statements/dashboard.html",
        {
            "days": DASHBOARD_DAYS,
            "counts": [(value, label, counts[value]) for value, label in Status.choices],
            "errors": recent_errors(request.tenant),
            "outgoing_failing": outgoing.last_result_ok is False,
            "outgoing": outgoing,
            "next_url": reverse("dashboard"),
            "time_zone": reminder_settings_for(request.tenant).time_zone,
        },
    )


@role_required()
def statement(request, pk: int):
    customer = get_for_tenant(request, Customer, pk)
    form = StatementFilters(request.GET)
    context = {"customer": customer, "form": form}
    if not form.is_valid():
        # Bad input runs no query for either tab: the page says what is wrong, with a 400.
        context["tab"] = form.cleaned_data.get("tab") or "invoices"
        return render(request, "statements/statement.html", context, status=400)
    tab = context["tab"] = form.cleaned_data["tab"] or "invoices"
    if tab == "emails":
        page = Paginator(emails_for_customer(customer), EMAILS_PER_PAGE).get_page(
            form.cleaned_data["page"]
        )
        context.update(
            page=page,
            emails_tab={"tab": "emails"},
            next_url=with_query(
                reverse("statement", args=[customer.pk]),
                {"tab": "emails", "page": page.number if page.number > 1 else None},
            ),
            time_zone=reminder_settings_for(request.tenant).time_zone,
        )
    else:
        today = tenant_today(request.tenant)
        invoices = list(open_invoices(customer))
        for invoice in invoices:
            invoice.overdue_days = invoice.days_overdue(today)
        context.update(today=today, invoices=invoices, totals=open_totals_by_currency(customer))
    return render(request, "statements/statement.html", context)


@role_required()
def aging(request):
    return render(
        request,
        "statements/aging_report.html",
        {
            "report": aging_report(request.tenant, today=tenant_today(request.tenant)),
            "bucket_labels": BUCKET_LABELS,
            "next_url": reverse("aging_report"),
        },
    )
