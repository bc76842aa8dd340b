"""The Communications CSV: rows streamed from the database in constant memory, with cells
that a spreadsheet would run as a formula neutralised."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from outbox.models import OutboundEmail
from yaypay_mail.csv_safety import neutralise
from yaypay_mail.paging import older_than

CHUNK_SIZE = 2000  # rows per database fetch
ROWS_PER_WRITE = 200  # rows per chunk of the response
HEADER = [
    "created_at",
    "status",
    "customer",
    "recipients",
    "subject",
    "error_reason",
    "sent_at",
]


def local_time(value: datetime.datetime | None, zone: ZoneInfo) -> str:
    """ISO 8601 in the tenant's zone, with its offset, to the second; "" for none."""
    if value is None:
        return ""
    return timezone.localtime(value, zone).isoformat(sep=" ", timespec="seconds")


def email_row(email: OutboundEmail, zone: ZoneInfo) -> list[str]:
    return [
        local_time(email.created_at, zone),
        email.get_status_display(),
        neutralise(email.customer.name if email.customer_id else ""),
        neutralise(email.recipients_display),
        neutralise(email.subject),
        neutralise(email.error_message),
        local_time(email.sent_at, zone),
    ]


def csv_filename(time_zone: str) -> str:
    today = timezone.localdate(timezone=ZoneInfo(time_zone))
    return f"communications-{today:%Y-%m-%d}.csv"


def emails_csv(emails: QuerySet[OutboundEmail], *, time_zone: str) -> Iterator[str]:
    """The CSV of `emails` (newest first by created_at, id), ROWS_PER_WRITE rows a chunk.

    The body is produced as the client reads it, after the view has returned; memory does
    not grow with the tenant's history (see keyset_rows).
    """
    zone = ZoneInfo(time_zone)
    batches = _batches(keyset_rows(emails), ROWS_PER_WRITE)
    return csv_stream(HEADER, ([email_row(email, zone) for email in batch] for batch in batches))


def csv_stream(header: list[str], row_batches: Iterable[Iterable[list[str]]]) -> Iterator[str]:
    """A CSV file as text chunks, one per batch of rows, made as the client reads them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    # A UTF-8 byte order mark, so Excel reads non-ASCII names and subjects right.
    yield "\ufeff" + _flush(buffer)
    for rows in row_batches:
        writer.writerows(rows)
        yield _flush(buffer)


def csv_response(chunks: Iterator[str], *, filename: str) -> StreamingHttpResponse:
    """A streamed CSV download; never kept by a shared cache (it holds customer data)."""
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def export_refused(form) -> HttpResponse:
    """The 400 of an export whose filters do not validate: what is wrong, as plain text."""
    lines = [
        f"{form[name].label}: {error}" for name, errors in form.errors.items() for error in errors
    ]
    return HttpResponse(
        "Nothing is exported: the address has values that cannot be used.\n"
        + "\n".join(lines)
        + "\n",
        status=400,
        content_type="text/plain; charset=utf-8",
    )


def keyset_rows(emails: QuerySet[OutboundEmail]) -> Iterator[OutboundEmail]:
    """Every email of `emails`, newest first, CHUNK_SIZE rows a query: each query starts
    at the last row of the one before on the list's index (the paging of the pages) and
    is read with .iterator(), which caches nothing. So memory stays constant on either
    kind of database cursor (a client-side one, as behind PgBouncer, holds a whole result
    set), no query or transaction stays open for the whole download, and an email that
    arrives meanwhile (newer than the position) is neither repeated nor makes one skipped.
    """
    ordered = emails.order_by("-created_at", "-id")
    position = None
    while True:
        chunk = ordered if position is None else ordered.filter(older_than(*position))
        count = 0
        for email in chunk[:CHUNK_SIZE].iterator(chunk_size=CHUNK_SIZE):
            count += 1
            yield email
        if count < CHUNK_SIZE:
            return
        position = (email.created_at, email.pk)


def _flush(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
