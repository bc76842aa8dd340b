"""The API's JSON shapes. Record fields are typed for the OpenAPI document only: their
values reach yaypay_mail.upserts as sent, which checks them as it checks a CSV cell, so
the API and the import give the same messages. Unknown keys are refused."""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from outbox.models import Kind, Status

MAX_ITEMS = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


def Key(max_length: int):  # noqa: N802 - a type factory
    """A customer_id or invoice_number in a path or query."""
    return Annotated[
        str, StringConstraints(min_length=1, max_length=max_length), AfterValidator(_printable)
    ]


CustomerKey = Key(100)
InvoiceKey = Key(50)


def _raw(schema: dict[str, Any]):
    return Annotated[Any, WithJsonSchema(schema)]


def _without_defaults(schema: dict[str, Any]) -> None:
    # Fields default to "absent" (leave the stored value alone), not to null.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


_RECORD = ConfigDict(extra="forbid", json_schema_extra=_without_defaults)
_AMOUNT = {
    "anyOf": [{"type": "string"}, {"type": "number"}],
    "description": (
        'A string such as "1234.56" or a JSON number; at most 12 digits before the point '
        "and 2 after."
    ),
    "examples": ["1234.56"],
}
_DATE = {"type": "string", "format": "date", "description": "YYYY-MM-DD, years 1900 to 2200"}


class CustomerIn(BaseModel):
    """A customer's CSV columns; a column left out keeps its stored value."""

    model_config = _RECORD

    customer_id: _raw({"type": "string", "maxLength": 100, "description": "The ERP's id"}) = None
    name: _raw({"type": "string", "maxLength": 200}) = None
    billing_email: _raw({"type": "string", "format": "email"}) = None
    cc_emails: _raw(
        {
            "anyOf": [
                {"type": "array", "items": {"type": "string", "format": "email"}},
                {"type": "string", "description": "Addresses separated by ; or ,"},
            ],
            "description": "With the billing email, at most MAX_RECIPIENTS (default 50) "
            "addresses in To and Cc together.",
        }
    ) = None
    reminders_paused: _raw({"type": "boolean"}) = None


class InvoiceIn(BaseModel):
    """An invoice's CSV columns; a column left out keeps its stored value."""

    model_config = _RECORD

    invoice_number: _raw({"type": "string", "maxLength": 50}) = None
    customer_id: _raw({"type": "string", "maxLength": 100, "description": "The customer's id"}) = (
        None
    )
    issue_date: _raw(_DATE) = None
    due_date: _raw(_DATE) = None
    amount: _raw(_AMOUNT) = None
    open_balance: _raw(_AMOUNT) = None
    currency: _raw({"type": "string", "description": "ISO 4217, such as USD"}) = None


class CustomerBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[CustomerIn] = Field(max_length=MAX_ITEMS)


class InvoiceBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[InvoiceIn] = Field(max_length=MAX_ITEMS)


class CustomerOut(BaseModel):
    customer_id: str
    name: str
    billing_email: str
    cc_emails: list[str]
    reminders_paused: bool


class InvoiceOut(BaseModel):
    invoice_number: str
    customer_id: str | None
    issue_date: datetime.date
    due_date: datetime.date
    amount: str
    open_balance: str
    currency: str


class Counts(BaseModel):
    created: int
    updated: int
    unchanged: int
    marked_paid: int


class EmailOut(BaseModel):
    id: int
    status: Literal[tuple(Status.values)]  # type: ignore[valid-type]
    kind: Literal[tuple(Kind.values)]  # type: ignore[valid-type]
    customer_id: str | None
    to: list[str]
    cc: list[str]
    subject: str
    error_code: str
    reason: str
    smtp_code: int | None
    created_at: datetime.datetime
    sent_at: datetime.datetime | None
    updated_at: datetime.datetime


class EmailPage(BaseModel):
    items: list[EmailOut]
    next_cursor: str | None


class EmailFilters(BaseModel):
    status: Literal[tuple(Status.values)] | None = None  # type: ignore[valid-type]
    customer_id: CustomerKey | None = None  # type: ignore[valid-type]
    since: datetime.datetime | None = Field(
        default=None, description="ISO datetime: emails created at or after it"
    )
    cursor: Annotated[str, StringConstraints(max_length=200), AfterValidator(_printable)] | None = (
        None
    )
    limit: int = Field(default=50, ge=1, le=200)


class ErrorItem(BaseModel):
    index: int
    field: str
    message: str


class Errors(BaseModel):
    errors: list[ErrorItem]


ERRORS = {401: Errors, 404: Errors, 422: Errors, 429: Errors}
