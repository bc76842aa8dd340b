from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from communications.exports import csv_response, export_refused
from communications.filters import cursor_field, with_query
from dunning.services import reminder_settings_for
from outbox.counts import daily_counts, dashboard_counts
from outbox.models import Status
from outbox.selectors import emails_for_customer, recent_errors
from routes.config import needs_reconnect, settings_for
from yaypay_mail.customer_services import customer_pause, customer_unpause, customer_update
from yaypay_mail.models import Customer, Role
from yaypay_mail.paging import keyset_page
from yaypay_mail.tenancy import get_for_tenant, role_required

from .aging_export import aging_csv, aging_csv_filename
from .aging_forms import SORTS, AgingFilters
from .charts import aging_chart, daily_chart, ordered_lines
from .customer_forms import CustomerEditForm, CustomerListFilters, PauseForm
from .customer_selectors import customer_history, customer_page
from .filters import StatementFilters
from .selectors import (
    BUCKET_LABELS,
    aging_fresh,
    aging_page,
    aging_totals,
    open_balances,
    open_invoices,
    open_totals_by_currency,
)

DASHBOARD_DAYS = 7
CHART_DAYS = 30
EMAILS_PER_PAGE = 50
MEMBERS = (Role.ADMIN, Role.COLLECTOR)


class StatementPageFilters(StatementFilters):
    """The Statement's query string with the EMAILS tab's keyset cursor
    (communications/paging.py); `page` stays valid for old links and shows the first page."""

    cursor = cursor_field()


@role_required()
def dashboard(request):
    tenant = request.tenant
    # From the hourly rollup: a few dozen rows, whatever the tenant's history.
    counts = dashboard_counts(tenant, since=timezone.now() - timedelta(days=DASHBOARD_DAYS))
    outgoing = settings_for(tenant)
    reminder_settings = reminder_settings_for(tenant)
    # The aging buckets from the OpenBalance rollup (a row per currency and due date),
    # as the Aging Report's totals row: no query over the invoices.
    today = request.tenant.local_today()
    balances = open_balances(tenant)
    lines = [aging_totals(currency, rows, today) for currency, rows in balances.items()]
    daily = daily_counts(tenant, days=CHART_DAYS, time_zone=request.tenant.time_zone)
    return render(
        request,
        "statements/dashboard.html",
        {
            "days": DASHBOARD_DAYS,
            "counts": [(value, label, counts[value]) for value, label in Status.choices],
            "errors": recent_errors(tenant),
            "outgoing_failing": outgoing.last_result_ok is False,
            # A connected mailbox whose grant ended: one click back to the provider.
            "outgoing_reconnect": needs_reconnect(outgoing),
            "outgoing": outgoing,
            "next_url": reverse("dashboard"),
            "time_zone": request.tenant.time_zone,
            "tenant_locale": reminder_settings.locale,
            "today": today,
            "aging_charts": [
                aging_chart(line) for line in ordered_lines(lines, tenant.default_currency)
            ],
            "chart_days": CHART_DAYS,
            "daily": daily_chart(daily),
        },
    )


@role_required()
def statement(request, pk: int):
    customer = get_for_tenant(request, Customer, pk)
    form = StatementPageFilters(request.GET)
    context = {"customer": customer, "form": form}
    if not form.is_valid():
        # Bad input runs no query for either tab: the page says what is wrong, with a 400.
        context["tab"] = form.cleaned_data.get("tab") or "invoices"
        return render(request, "statements/statement.html", context, status=400)
    tab = context["tab"] = form.cleaned_data["tab"] or "invoices"
    reminder_settings = reminder_settings_for(request.tenant)
    context.update(
        history=customer_history(customer),
        time_zone=request.tenant.time_zone,
        tenant_locale=reminder_settings.locale,
    )
    if tab == "emails":
        # One query of 51 rows from the cursor on outbox_customer_created: no COUNT(*), no
        # OFFSET; ?page=N (old links) shows the first page.
        cursor = form.cleaned_data["cursor"]
        page = keyset_page(emails_for_customer(customer), cursor, size=EMAILS_PER_PAGE)
        statement_url = reverse("statement", args=[customer.pk])
        emails_tab = {"tab": "emails"}
        context.update(
            page=page,
            emails_tab=emails_tab,
            on_later_page=cursor is not None,
            first_url=with_query(statement_url, emails_tab),
            next_url=with_query(
                statement_url,
                {"tab": "emails", "cursor": request.GET.get("cursor") if cursor else None},
            ),
        )
    else:
        today = request.tenant.local_today()
        invoices = list(open_invoices(customer))
        for invoice in invoices:
            invoice.overdue_days = invoice.days_overdue(today)
        context.update(today=today, invoices=invoices, totals=open_totals_by_currency(customer))
    return render(request, "statements/statement.html", context)


@role_required()
def aging(request):
    form = AgingFilters(request.GET)
    context = {"form": form, "bucket_labels": BUCKET_LABELS}
    if not form.is_valid():
        # Bad input runs no query: the page says what is wrong, with a 400.
        return render(request, "statements/aging_report.html", context, status=400)
    filters = form.cleaned_data
    reminder_settings = reminder_settings_for(request.tenant)
    # One currency a page, 50 customers, keyset-paged on the rollups: the same few
    # queries for a tenant of 5 customers or 20,000. ?page=N (old links) is the first page.
    report = aging_page(
        request.tenant,
        today=request.tenant.local_today(),
        currency=filters["currency"],
        sort=filters["sort"],
        cursor=filters["cursor"],
    )
    url = reverse("aging_report")
    given = form.given()
    keep = {"currency": report.currency, "sort": filters["sort"]}
    if filters["cursor"] is not None:
        given.update(currency=report.currency, cursor=request.GET["cursor"])
    context.update(
        report=report,
        sort=filters["sort"],
        sorts=[(value, label, with_query(url, {**keep, "sort": value})) for value, label in SORTS],
        currencies=[
            (code, with_query(url, {"currency": code, "sort": filters["sort"]}))
            for code in report.currencies
        ],
        keep=keep,
        on_later_page=filters["cursor"] is not None,
        first_url=with_query(url, keep),
        # Resend comes back to this very page, built from the known filters only.
        next_url=with_query(url, given),
        export_url=with_query(reverse("aging_export"), form.given()),
        export_all_currencies="currency" not in form.given(),
        time_zone=request.tenant.time_zone,
        tenant_locale=reminder_settings.locale,
    )
    return render(request, "statements/aging_report.html", context)


@role_required()
def aging_export(request):
    """/reports/aging/export.csv with the page's filters (currency, sort; a cursor or page
    is ignored): every customer, without a currency every currency one after another,
    streamed in constant memory."""
    form = AgingFilters(request.GET)
    if not form.is_valid():
        return export_refused(form)
    today = request.tenant.local_today()
    aging_fresh(request.tenant, today)
    currency = form.given().get("currency")
    currencies = [currency] if currency else sorted(open_balances(request.tenant))
    return csv_response(
        aging_csv(
            request.tenant,
            currencies=currencies,
            sort=form.cleaned_data["sort"],
            today=today,
            time_zone=request.tenant.time_zone,
        ),
        filename=aging_csv_filename(today),
    )


@role_required()
def customer_list(request):
    form = CustomerListFilters(request.GET)
    if not form.is_valid():
        # Bad input runs no query: the page says what is wrong, with a 400.
        return render(request, "statements/customer_list.html", {"form": form}, status=400)
    filters = {name: form.cleaned_data[name] for name in ("q", "paused") if form.cleaned_data[name]}
    page = customer_page(
        request.tenant,
        q=form.cleaned_data["q"],
        paused=form.paused_value(),
        cursor=form.cleaned_data["cursor"],
    )
    # One read for both: the list's balances and dates are written the tenant's way.
    reminder_settings = reminder_settings_for(request.tenant)
    return render(
        request,
        "statements/customer_list.html",
        {
            "form": form,
            "page": page,
            "time_zone": request.tenant.time_zone,
            "tenant_locale": reminder_settings.locale,
            "filters": filters,
            "q": filters.get("q", ""),
            "first_url": with_query(reverse("customer_list"), filters),
        },
    )


@role_required()
def customer_edit(request, pk: int):
    customer = get_for_tenant(request, Customer, pk, roles=(Role.ADMIN,))
    if request.method == "POST":
        form = CustomerEditForm(request.POST)
        if form.is_valid():
            try:
                change = customer_update(
                    customer=customer, actor=request.user, data=form.cleaned_data
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, "Customer saved." if change else "Nothing changed.")
                return redirect("statement", customer.pk)
        status = 400
    else:
        form = CustomerEditForm(initial=CustomerEditForm.initial_for(customer))
        status = 200
    return render(
        request,
        "statements/customer_edit.html",
        {"customer": customer, "form": form},
        status=status,
    )


@require_POST
@role_required()
def customer_pause_view(request, pk: int):
    customer = get_for_tenant(request, Customer, pk, roles=MEMBERS)
    form = PauseForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "statements/customer_pause.html",
            {"customer": customer, "pause_form": form},
            status=400,
        )
    customer_pause(customer=customer, actor=request.user, reason=form.cleaned_data["reason"])
    messages.success(request, "Reminders paused.")
    return redirect("statement", customer.pk)


@require_POST
@role_required()
def customer_unpause_view(request, pk: int):
    customer = get_for_tenant(request, Customer, pk, roles=MEMBERS)
    customer_unpause(customer=customer, actor=request.user)
    messages.success(request, "Reminders resumed.")
    return redirect("statement", customer.pk)


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, messages_ in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)
