"""Keyset ("cursor") paging for the outbox lists, newest first by (created_at, id).

A cursor is opaque to the user: base64 (URL-safe, unpadded) of the JSON
["a" | "b", created_at ISO 8601 in UTC, id] -- "a": the page after (older than) that
email, "b": the page before (newer than) it -- as DRF's CursorPagination does. A page
is one query of at most size + 1 rows that starts at the cursor in the list's index
(no OFFSET, no COUNT(*)), so it costs the same on page 1 and page 10,000, and emails
that arrive while someone pages are never shown twice nor skip an older one.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from dataclasses import dataclass, field
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

PAGE_SIZE = 50
AFTER, BEFORE = "a", "b"
# ["b","2026-11-26T08:18:54.123456+00:00",9223372036854775807] in base64 is about 80.
MAX_CURSOR_LENGTH = 200
MAX_PK = 2**63 - 1  # the largest bigint primary key
CURSOR_MESSAGE = "It is not a page of this list; start again from the first page."


class Cursor(NamedTuple):
    direction: str  # AFTER or BEFORE
    created_at: datetime.datetime  # aware, UTC
    pk: int


def encode_cursor(direction: str, created_at: datetime.datetime, pk: int) -> str:
    stamp = created_at.astimezone(datetime.UTC).isoformat()
    raw = json.dumps([direction, stamp, pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> Cursor:
    """The cursor in `value`; ValidationError(CURSOR_MESSAGE) for anything a page of this
    list did not make (bad base64 or JSON, wrong shape, naive or absurd time, bad id)."""
    try:
        if len(value) > MAX_CURSOR_LENGTH:
            raise ValueError
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        direction, stamp, pk = json.loads(raw.decode())
        if direction not in (AFTER, BEFORE) or not isinstance(stamp, str) or len(stamp) > 40:
            raise ValueError
        created_at = datetime.datetime.fromisoformat(stamp)
        if created_at.tzinfo is None or type(pk) is not int or not 1 <= pk <= MAX_PK:
            raise ValueError
        created_at = created_at.astimezone(datetime.UTC)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, OverflowError):
        raise ValidationError(CURSOR_MESSAGE, code="invalid") from None
    return Cursor(direction, created_at, pk)


@dataclass
class KeysetPage:
    object_list: list = field(default_factory=list)
    next_cursor: str | None = None  # None: this is the last page
    previous_cursor: str | None = None  # None: this is the first page

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def older_than(created_at: datetime.datetime, pk: int) -> Q:
    """(created_at, id) < (created_at, pk). The redundant `created_at <=` is what an index
    on (..., created_at DESC, id DESC) starts its scan at; the OR only trims the ties."""
    return Q(created_at__lte=created_at) & (
        Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk)
    )


def newer_than(created_at: datetime.datetime, pk: int) -> Q:
    """(created_at, id) > (created_at, pk), index-friendly like older_than."""
    return Q(created_at__gte=created_at) & (
        Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=pk)
    )


def keyset_page(emails: QuerySet, cursor: Cursor | None, *, size: int = PAGE_SIZE) -> KeysetPage:
    """One page of `emails` (newest first by created_at, id) after or before `cursor`:
    one query of size + 1 rows, whatever the page."""
    backwards = cursor is not None and cursor.direction == BEFORE
    if cursor is not None:
        position = newer_than if backwards else older_than
        emails = emails.filter(position(cursor.created_at, cursor.pk))
    order = ("created_at", "id") if backwards else ("-created_at", "-id")
    found = list(emails.order_by(*order)[: size + 1])
    more = len(found) > size
    found = found[:size]
    if backwards:
        found.reverse()
    # Going back, "more" means newer pages remain and an older one exists (we came from
    # it); going forward, the reverse.
    has_next = cursor is not None if backwards else more
    has_previous = more if backwards else cursor is not None
    if not found:
        return KeysetPage()
    first, last = found[0], found[-1]
    return KeysetPage(
        object_list=found,
        next_cursor=encode_cursor(AFTER, last.created_at, last.pk) if has_next else None,
        previous_cursor=encode_cursor(BEFORE, first.created_at, first.pk) if has_previous else None,
    )
