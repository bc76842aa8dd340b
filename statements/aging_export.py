"""The Aging Report CSV: the whole report in the page's order, one currency after another,
read in keyset chunks of the page's own query, so memory stays flat however many
customers the tenant has, and no query stays open for the whole download."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.utils import timezone

from communications.exports import csv_stream
from yaypay_mail.csv_safety import neutralise
from yaypay_mail.models import Tenant

from .aging_forms import AFTER, AgingCursor
from .selectors import AGING_SORTS, BUCKET_LABELS, AgingRow, aging_rows, with_buckets_and_reminders

CHUNK_SIZE = 500  # customers per chunk: three queries each
HEADER = [
    "customer_id",
    "name",
    "currency",
    *BUCKET_LABELS,
    "total",
    "overdue",
    "reminders paused",
    "pause reason",
    "last reminder date",
    "last reminder status",
]


def aging_csv_filename(today: datetime.date) -> str:
    return f"aging-{today:%Y-%m-%d}.csv"


def aging_row(row: AgingRow, zone: ZoneInfo) -> list[str]:
    customer, email = row.customer, row.last_reminder
    return [
        neutralise(customer.external_id or ""),
        neutralise(customer.name),
        row.currency,
        *(f"{amount:.2f}" for amount in row.buckets),
        f"{row.total:.2f}",
        f"{row.overdue:.2f}",
        "yes" if customer.reminders_paused else "no",
        neutralise(customer.pause_reason if customer.reminders_paused else ""),
        timezone.localdate(email.created_at, zone).isoformat() if email else "",
        email.get_status_display() if email else "",
    ]


def aging_csv(
    tenant: Tenant,
    *,
    currencies: list[str],
    sort: str,
    today: datetime.date,
    time_zone: str,
) -> Iterator[str]:
    """The CSV, CHUNK_SIZE customers a chunk; produced as the client reads it."""
    zone = ZoneInfo(time_zone)
    return csv_stream(
        HEADER,
        (
            [aging_row(row, zone) for row in rows]
            for currency in currencies
            for rows in aging_chunks(tenant, currency=currency, sort=sort, today=today)
        ),
    )


def aging_chunks(
    tenant: Tenant, *, currency: str, sort: str, today: datetime.date
) -> Iterator[list[AgingRow]]:
    """Every row of one currency in `sort` order, CHUNK_SIZE a chunk: each chunk's query
    starts after the last row of the one before, on the page's index (no OFFSET)."""
    cursor = None
    while True:
        balances = list(
            aging_rows(tenant, currency=currency, sort=sort, cursor=cursor)[:CHUNK_SIZE]
        )
        if not balances:
            return
        yield with_buckets_and_reminders(
            tenant, balances, currency=currency, sort=sort, today=today
        )
        if len(balances) < CHUNK_SIZE:
            return
        column, _ = AGING_SORTS[sort]
        last = balances[-1]
        cursor = AgingCursor(AFTER, sort, currency, getattr(last, column), last.customer_id)
