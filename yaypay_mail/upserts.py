"""The one way customers and invoices come in: an upsert on the ERP's keys, shared by the
CSV import and the REST API, so both follow the same rules and give the same errors.

Records arrive as raw values (strings from a CSV file, JSON values from the API)
keyed by the CSV column names; a key that is absent leaves the stored value alone.
Every record is checked; if any is invalid, nothing is written and the report lists
every error with its position (a CSV file's physical line, or an API item's index).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .models import Tenant

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
    errors: list[RecordError] = field(default_factory=list)
    applied: bool = False  # written (not a dry run, and no errors)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


Progress = Callable[[int], None]  # called with the number of records done so far


def upsert_customers(
    *,
    tenant: Tenant,
    records: Iterable[RawRecord],
    formats: Formats = Formats(),
    dry_run: bool = False,
    actor=None,
    source: str = "import",
    progress: Progress | None = None,
) -> UpsertReport:
    """Create or update customers by `customer_id` (the external id)."""
    raise NotImplementedError


def upsert_invoices(
    *,
    tenant: Tenant,
    records: Iterable[RawRecord],
    formats: Formats = Formats(),
    sync: str = "upsert",
    dry_run: bool = False,
    actor=None,
    source: str = "import",
    progress: Progress | None = None,
) -> UpsertReport:
    """Create or update invoices by `invoice_number`; with sync="full", every open
    invoice of the tenant missing from the records is marked paid."""
    raise NotImplementedError
