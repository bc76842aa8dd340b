"""The one way customers and invoices come in: an upsert on the ERP's keys, shared by the
CSV import and the REST API, so both follow the same rules and give the same errors.

Records arrive as raw values (strings from a CSV file, JSON values from the API)
keyed by the CSV column names; a key that is absent leaves the stored value alone.
Every record is checked; if any is invalid, nothing is written and the report lists
every error with its position (a CSV file's physical line, or an API item's index).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import transaction

from . import record_fields as read
from .balances import InvoiceState, customers_renamed, invoices_changed, state_of
from .models import ChangeSource, Customer, CustomerChange, Invoice, Tenant
from .validators import validate_recipient_count

CUSTOMER_COLUMNS = ("customer_id", "name", "billing_email", "cc_emails", "reminders_paused")
INVOICE_COLUMNS = (
    "invoice_number",
    "customer_id",
    "issue_date",
    "due_date",
    "amount",
    "open_balance",
    "currency",
)
SYNC_MODES = ("upsert", "full")
CHUNK = 1000  # records read, checked and written together
MAX_ERRORS = 1000
MAX_MARKED_PAID_LISTED = 100
EMPTY_FULL_SYNC = (
    "A full sync needs at least one invoice: with none, every open invoice would be marked paid."
)


@dataclass(frozen=True)
class Formats:
    """How raw text values are written: `decimal` "point" (1,234.56) or "comma"
    (1.234,56); `date_format` "iso" (2026-03-31), "mdy" (03/31/2026) or "dmy"."""

    decimal: str = "point"
    date_format: str = "iso"


@dataclass(frozen=True)
class RawRecord:
    position: int  # CSV: the physical line where the record starts (header = 1); API: index
    values: dict[str, object]


@dataclass(frozen=True)
class RecordError:
    position: int
    field: str
    message: str


@dataclass
class UpsertReport:
    kind: str  # "customers" or "invoices"
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    marked_paid: int = 0  # sync=full: open invoices missing from the records
    marked_paid_numbers: list[str] = field(default_factory=list)  # the first 100 of them
    errors: list[RecordError] = field(default_factory=list)  # the first MAX_ERRORS
    error_count: int = 0  # all of them
    applied: bool = False  # written (not a dry run, and no errors)

    def add_error(self, position: int, field_name: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RecordError(position, field_name, message))

    @property
    def ok(self) -> bool:
        return not self.error_count

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


Progress = Callable[[int], None]  # called with the number of records done so far


class _Rollback(Exception):
    pass


def _chunks(records: Iterable[RawRecord]) -> Iterator[list[RawRecord]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def _run(report: UpsertReport, *, tenant: Tenant, dry_run: bool, work) -> UpsertReport:
    """One transaction for the whole upsert: it is written only if every record is valid
    and this is not a dry run. The tenant's row lock makes two imports of one tenant
    take turns, so neither loses the other's rows."""
    try:
        with transaction.atomic():
            # NO KEY UPDATE: other writes of the tenant (delivery records, enqueues,
            # pauses) insert rows that reference it and must not wait for an import.
            Tenant.objects.select_for_update(no_key=True).filter(pk=tenant.pk).first()
            work()
            if dry_run or not report.ok:
                raise _Rollback
    except _Rollback:
        report.applied = False
    else:
        report.applied = True
    report.errors.sort(key=lambda error: error.position)
    return report


class _Values:
    """One record's raw values, read field by field; errors are collected on the report."""

    def __init__(self, record: RawRecord, report: UpsertReport, formats: Formats):
        self.record = record
        self.report = report
        self.formats = formats
        self.valid = True

    def given(self, name: str) -> bool:
        return name in self.record.values and not read.is_blank(self.record.values[name])

    def read(self, name: str, reader, *, required: bool = False, **options):
        """The typed value; None when the field is absent or blank (or an error)."""
        if not self.given(name):
            if required:
                self.fail(name, "is required")
            return None
        try:
            return reader(self.record.values[name], **options)
        except read.FieldError as error:
            self.fail(name, f"{error}")
            return None

    def fail(self, name: str, message: str) -> None:
        self.valid = False
        self.report.add_error(self.record.position, name, message)


def _first_seen(seen: dict[str, int], key: str, values: _Values, name: str) -> bool:
    if key in seen:
        values.fail(name, f"{read.shown(key)} appears more than once (first at {seen[key]})")
        return False
    seen[key] = values.record.position
    return True


# --- customers --------------------------------------------------------------------

_CUSTOMER_FIELDS = ("name", "billing_email", "cc_emails", "reminders_paused")


def upsert_customers(
    *,
    tenant: Tenant,
    records: Iterable[RawRecord],
    formats: Formats = Formats(),
    dry_run: bool = False,
    actor=None,
    source: str = ChangeSource.IMPORT,
    progress: Progress | None = None,
) -> UpsertReport:
    """Create or update customers by `customer_id` (the external id)."""
    report = UpsertReport(kind="customers")
    seen: dict[str, int] = {}

    def work() -> None:
        done = 0
        for chunk in _chunks(records):
            parsed = [_read_customer(record, report, formats, seen) for record in chunk]
            parsed = [row for row in parsed if row is not None]
            _write_customers(tenant, parsed, report, actor=actor, source=source)
            done += len(chunk)
            if progress:
                progress(done)

    return _run(report, tenant=tenant, dry_run=dry_run, work=work)


def _read_customer(record, report, formats, seen) -> tuple[str, dict, int] | None:
    values = _Values(record, report, formats)
    key = values.read("customer_id", read.text, required=True, max_length=100)
    fields = {
        "name": values.read("name", read.text, max_length=200),
        "billing_email": values.read("billing_email", read.email),
        "cc_emails": values.read("cc_emails", read.email_list),
        "reminders_paused": values.read("reminders_paused", read.boolean),
    }
    # A present but empty cc_emails column clears them; the other fields need a value.
    if "cc_emails" in record.values and read.is_blank(record.values["cc_emails"]):
        fields["cc_emails"] = []
    for name in ("name", "billing_email"):
        if name in record.values and read.is_blank(record.values[name]):
            values.fail(name, "is required")
    if fields["cc_emails"]:
        try:
            validate_recipient_count(
                billing_email=fields["billing_email"], cc_emails=fields["cc_emails"]
            )
        except ValidationError as error:
            values.fail("cc_emails", error.messages[0])
    if key is None or not values.valid or not _first_seen(seen, key, values, "customer_id"):
        return None
    return (
        key,
        {name: value for name, value in fields.items() if value is not None},
        record.position,
    )


def _write_customers(tenant, parsed, report, *, actor, source) -> None:
    # Locked while compared and written: a pause made on the Statement meanwhile is not
    # overwritten with what was read before it.
    existing = {
        customer.external_id: customer
        for customer in Customer.objects.select_for_update(no_key=True).filter(
            tenant=tenant, external_id__in=[key for key, _, _ in parsed]
        )
    }
    new, changed, history = [], [], []
    for key, fields, position in parsed:
        customer = existing.get(key)
        if customer is None:
            missing = [name for name in ("name", "billing_email") if name not in fields]
            for name in missing:
                report.add_error(position, name, "is required for a new customer")
            if missing:
                continue
            customer = Customer(tenant=tenant, external_id=key, **fields)
            new.append(customer)
            report.created += 1
            continue
        diff = {
            name: [getattr(customer, name), value]
            for name, value in fields.items()
            if getattr(customer, name) != value
        }
        if not diff:
            report.unchanged += 1
            continue
        for name, (_, value) in diff.items():
            setattr(customer, name, value)
        if diff.get("reminders_paused", [None, True])[1] is False:
            customer.pause_reason = ""
        changed.append(customer)
        history.append((customer, diff))
        report.updated += 1
    if not report.ok:
        return
    Customer.objects.bulk_create(new)
    Customer.objects.bulk_update(changed, [*_CUSTOMER_FIELDS, "pause_reason"])
    customers_renamed([customer.pk for customer, diff in history if "name" in diff])
    CustomerChange.objects.bulk_create(
        [
            CustomerChange(
                tenant=tenant,
                customer=customer,
                actor=actor,
                source=source,
                changes={name: [None, getattr(customer, name)] for name in _CUSTOMER_FIELDS},
            )
            for customer in new
        ]
        + [
            CustomerChange(
                tenant=tenant, customer=customer, actor=actor, source=source, changes=diff
            )
            for customer, diff in history
        ]
    )


# --- invoices ---------------------------------------------------------------------

_INVOICE_FIELDS = ("customer_id", "issued_on", "due_on", "amount", "open_balance", "currency")


def upsert_invoices(
    *,
    tenant: Tenant,
    records: Iterable[RawRecord],
    formats: Formats = Formats(),
    sync: str = "upsert",
    dry_run: bool = False,
    actor=None,
    source: str = ChangeSource.IMPORT,
    progress: Progress | None = None,
) -> UpsertReport:
    """Create or update invoices by `invoice_number`; with sync="full", every open
    invoice of the tenant missing from the records is marked paid."""
    if sync not in SYNC_MODES:
        raise ValueError(f"sync must be one of {SYNC_MODES}")
    report = UpsertReport(kind="invoices")
    seen: dict[str, int] = {}

    def work() -> None:
        done = 0
        for chunk in _chunks(records):
            parsed = [_read_invoice(record, report, formats, seen) for record in chunk]
            parsed = [row for row in parsed if row is not None]
            # A dry run is rolled back: the Aging rollups would be too, so they are skipped.
            _write_invoices(tenant, parsed, report, rollups=not dry_run)
            done += len(chunk)
            if progress:
                progress(done)
        if sync == "full" and not seen and report.ok:
            # A failed ERP export (a header and nothing else) must not wipe receivables.
            report.add_error(0, "sync", EMPTY_FULL_SYNC)
        if sync == "full" and report.ok:
            _mark_missing_paid(tenant, seen, report, rollups=not dry_run)

    return _run(report, tenant=tenant, dry_run=dry_run, work=work)


def _read_invoice(record, report, formats, seen) -> tuple[str, dict, int] | None:
    values = _Values(record, report, formats)
    key = values.read("invoice_number", read.text, required=True, max_length=50)
    fields = {
        "customer_key": values.read("customer_id", read.text, max_length=100),
        "issued_on": values.read("issue_date", read.date, date_format=formats.date_format),
        "due_on": values.read("due_date", read.date, date_format=formats.date_format),
        "amount": values.read("amount", read.amount, decimal=formats.decimal),
        "open_balance": values.read("open_balance", read.amount, decimal=formats.decimal),
        "currency": values.read("currency", read.currency),
    }
    for column in ("customer_id", "due_date", "amount"):
        if column in record.values and read.is_blank(record.values[column]):
            values.fail(column, "is required")
    if key is None or not values.valid or not _first_seen(seen, key, values, "invoice_number"):
        return None
    return (
        key,
        {name: value for name, value in fields.items() if value is not None},
        record.position,
    )


def _write_invoices(tenant, parsed, report, *, rollups: bool = True) -> None:
    numbers = [key for key, _, _ in parsed]
    existing = {
        invoice.number: invoice
        for invoice in Invoice.objects.filter(tenant=tenant, number__in=numbers)
    }
    customer_keys = {fields["customer_key"] for _, fields, _ in parsed if "customer_key" in fields}
    customer_ids = dict(
        Customer.objects.filter(tenant=tenant, external_id__in=customer_keys).values_list(
            "external_id", "id"
        )
    )
    new, changed, before = [], [], []
    for key, fields, position in parsed:
        customer_key = fields.pop("customer_key", None)
        if customer_key is not None:
            if customer_key not in customer_ids:
                report.add_error(
                    position,
                    "customer_id",
                    f"{read.shown(customer_key)} is not a customer of yours "
                    "(import customers first)",
                )
                continue
            fields["customer_id"] = customer_ids[customer_key]
        invoice = existing.get(key)
        if invoice is None:
            invoice = _new_invoice(tenant, key, fields, position, report)
            if invoice is not None:
                new.append(invoice)
            continue
        stored = tuple(getattr(invoice, name) for name in _INVOICE_FIELDS)
        stored_state = state_of(invoice)
        for name, value in fields.items():
            setattr(invoice, name, value)
        if not _balance_ok(invoice, position, report):
            continue
        if tuple(getattr(invoice, name) for name in _INVOICE_FIELDS) == stored:
            report.unchanged += 1
            continue
        invoice.paid = invoice.open_balance == 0
        changed.append(invoice)
        before.append(stored_state)
        report.updated += 1
    if report.ok:
        Invoice.objects.bulk_create(new)
        Invoice.objects.bulk_update(changed, [*_INVOICE_FIELDS, "paid"])
        if rollups:
            # The Aging rollups move with the chunk, in its transaction (the tenant is locked).
            invoices_changed(tenant_id=tenant.pk, before=before, after=new + changed, locked=True)


def _new_invoice(tenant, key, fields, position, report) -> Invoice | None:
    missing = [
        column
        for column, name in (
            ("customer_id", "customer_id"),
            ("due_date", "due_on"),
            ("amount", "amount"),
        )
        if name not in fields
    ]
    for column in missing:
        report.add_error(position, column, "is required for a new invoice")
    if missing:
        return None
    fields.setdefault("issued_on", fields["due_on"])
    fields.setdefault("open_balance", fields["amount"])
    fields.setdefault("currency", tenant.default_currency)
    invoice = Invoice(tenant=tenant, number=key, **fields)
    if not _balance_ok(invoice, position, report):
        return None
    invoice.paid = invoice.open_balance == 0
    report.created += 1
    return invoice


def _balance_ok(invoice: Invoice, position: int, report: UpsertReport) -> bool:
    if invoice.open_balance < 0 and -invoice.open_balance > abs(invoice.amount):
        report.add_error(
            position,
            "open_balance",
            f"a credit of {invoice.open_balance:.2f} is larger than the amount {invoice.amount:.2f}",
        )
        return False
    return True


def _mark_missing_paid(
    tenant: Tenant, seen: dict[str, int], report: UpsertReport, *, rollups: bool = True
) -> None:
    """Full sync: an ERP export of open invoices leaves out the paid ones."""
    missing = [
        (pk, number, InvoiceState(*state))
        for pk, number, *state in Invoice.objects.filter(tenant=tenant, open_balance__gt=0)
        .order_by("due_on", "number")
        .values_list("id", "number", *InvoiceState._fields)
        if number not in seen
    ]
    report.marked_paid = len(missing)
    report.marked_paid_numbers = [number for _, number, _ in missing[:MAX_MARKED_PAID_LISTED]]
    for start in range(0, len(missing), CHUNK):
        chunk = missing[start : start + CHUNK]
        Invoice.objects.filter(pk__in=[pk for pk, _, _ in chunk]).update(
            open_balance=Decimal("0.00"), paid=True
        )
        if rollups:
            invoices_changed(
                tenant_id=tenant.pk, before=[state for _, _, state in chunk], after=[], locked=True
            )
