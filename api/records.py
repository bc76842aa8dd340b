"""Customers and invoices: upsert one (PUT), upsert many (POST :bulk), read one (GET).

Every write goes through yaypay_mail.upserts, the service the CSV import uses."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Router, Status

from yaypay_mail.models import ChangeSource, Customer, Invoice
from yaypay_mail.upserts import (
    Formats,
    RawRecord,
    UpsertReport,
    upsert_customers,
    upsert_invoices,
)

from .errors import ApiError, error, record_errors
from .schemas import (
    ERRORS,
    Counts,
    CustomerBatch,
    CustomerIn,
    CustomerKey,
    CustomerOut,
    InvoiceBatch,
    InvoiceIn,
    InvoiceKey,
    InvoiceOut,
)

router = Router()

NOT_FOUND = {
    "customers": "No customer with this customer_id.",
    "invoices": "No invoice with this invoice_number.",
}


def _checked(report: UpsertReport) -> UpsertReport:
    if not report.ok:
        raise ApiError(422, record_errors(report.errors))
    return report


def _counts(report: UpsertReport) -> dict[str, int]:
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "marked_paid": report.marked_paid,
    }


def _not_found(kind: str, field: str) -> ApiError:
    return ApiError(404, [error(field, NOT_FOUND[kind])])


# --- customers --------------------------------------------------------------------


def customer_json(customer: Customer) -> dict:
    return {
        "customer_id": customer.external_id,
        "name": customer.name,
        "billing_email": customer.billing_email,
        "cc_emails": list(customer.cc_emails),
        "reminders_paused": customer.reminders_paused,
    }


def _customer(tenant, key: str) -> Customer:
    customer = Customer.objects.filter(tenant=tenant, external_id=key.strip()).first()
    if customer is None:
        raise _not_found("customers", "customer_id")
    return customer


@router.get(
    "/customers/{path:customer_id}", response={200: CustomerOut, **ERRORS}, tags=["customers"]
)
def customer_get(request: HttpRequest, customer_id: CustomerKey):
    """One customer by its customer_id."""
    return customer_json(_customer(request.auth.tenant, customer_id))


@router.put(
    "/customers/{path:customer_id}",
    response={200: CustomerOut, 201: CustomerOut, **ERRORS},
    tags=["customers"],
)
def customer_put(request: HttpRequest, customer_id: str, payload: CustomerIn):
    """Create or update one customer; the path's customer_id wins over the body's.
    201 when created, 200 otherwise."""
    tenant = request.auth.tenant
    values = {**payload.model_dump(exclude_unset=True), "customer_id": customer_id}
    report = _checked(
        upsert_customers(
            tenant=tenant,
            records=[RawRecord(position=0, values=values)],
            formats=Formats(),
            dry_run=False,
            actor=None,
            source=ChangeSource.API,
        )
    )
    return Status(
        201 if report.created == 1 else 200, customer_json(_customer(tenant, customer_id))
    )


@router.post("/customers:bulk", response={200: Counts, **ERRORS}, tags=["customers"])
def customers_bulk(request: HttpRequest, payload: CustomerBatch):
    """Create or update up to 1,000 customers: all of them, or none when any is invalid."""
    records = [
        RawRecord(position=index, values=item.model_dump(exclude_unset=True))
        for index, item in enumerate(payload.items)
    ]
    report = upsert_customers(
        tenant=request.auth.tenant,
        records=records,
        formats=Formats(),
        dry_run=False,
        actor=None,
        source=ChangeSource.API,
    )
    return _counts(_checked(report))


# --- invoices ---------------------------------------------------------------------


def invoice_json(invoice: Invoice) -> dict:
    return {
        "invoice_number": invoice.number,
        "customer_id": invoice.customer.external_id,
        "issue_date": invoice.issued_on,
        "due_date": invoice.due_on,
        "amount": f"{invoice.amount:.2f}",
        "open_balance": f"{invoice.open_balance:.2f}",
        "currency": invoice.currency,
    }


def _invoice(tenant, key: str) -> Invoice:
    invoice = (
        Invoice.objects.select_related("customer").filter(tenant=tenant, number=key.strip()).first()
    )
    if invoice is None:
        raise _not_found("invoices", "invoice_number")
    return invoice


@router.get(
    "/invoices/{path:invoice_number}", response={200: InvoiceOut, **ERRORS}, tags=["invoices"]
)
def invoice_get(request: HttpRequest, invoice_number: InvoiceKey):
    """One invoice by its invoice_number."""
    return invoice_json(_invoice(request.auth.tenant, invoice_number))


@router.put(
    "/invoices/{path:invoice_number}",
    response={200: InvoiceOut, 201: InvoiceOut, **ERRORS},
    tags=["invoices"],
)
def invoice_put(request: HttpRequest, invoice_number: str, payload: InvoiceIn):
    """Create or update one invoice; the path's invoice_number wins over the body's.
    201 when created, 200 otherwise."""
    tenant = request.auth.tenant
    values = {**payload.model_dump(exclude_unset=True), "invoice_number": invoice_number}
    report = _checked(
        upsert_invoices(
            tenant=tenant,
            records=[RawRecord(position=0, values=values)],
            formats=Formats(),
            sync="upsert",
            dry_run=False,
            actor=None,
            source=ChangeSource.API,
        )
    )
    return Status(
        201 if report.created == 1 else 200, invoice_json(_invoice(tenant, invoice_number))
    )


@router.post("/invoices:bulk", response={200: Counts, **ERRORS}, tags=["invoices"])
def invoices_bulk(
    request: HttpRequest, payload: InvoiceBatch, sync: Literal["upsert", "full"] = "upsert"
):
    """Create or update up to 1,000 invoices: all of them, or none when any is invalid.
    With ?sync=full, every open invoice of the tenant missing from the items is marked
    paid (an empty list is refused then: it would mark every invoice paid)."""
    if sync == "full" and not payload.items:
        raise ApiError(
            422,
            [
                error(
                    "items",
                    "sync=full needs at least one invoice; an empty list would mark every open invoice paid",
                )
            ],
        )
    records = [
        RawRecord(position=index, values=item.model_dump(exclude_unset=True))
        for index, item in enumerate(payload.items)
    ]
    report = upsert_invoices(
        tenant=request.auth.tenant,
        records=records,
        formats=Formats(),
        sync=sync,
        dry_run=False,
        actor=None,
        source=ChangeSource.API,
    )
    return _counts(_checked(report))
