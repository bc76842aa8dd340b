"""Query-string filters for list pages, validated before any query runs.

A raw value with a NUL character (PostgreSQL text cannot hold one) or longer than
MAX_RAW_LENGTH is refused before its field parses it, with a message that does not echo it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError
from django.utils.http import urlencode

from outbox.models import Kind, Status
from yaypay_mail.paging import MAX_CURSOR_LENGTH, decode_cursor

MAX_RAW_LENGTH = 200
MAX_PAGE = 100_000
MAX_ID = 2**63 - 1  # the largest bigint primary key

NUL_MESSAGE = "It contains a NUL character, which is not allowed."
TOO_LONG_MESSAGE = "It is too long (at most %(limit)d characters)."


class _Bounded:
    """Refuses a raw value with a NUL or over MAX_RAW_LENGTH characters before parsing."""

    def to_python(self, value):
        if isinstance(value, str):
            if "\x00" in value:
                raise ValidationError(NUL_MESSAGE, code="null_characters_not_allowed")
            if len(value) > MAX_RAW_LENGTH:
                raise ValidationError(
                    TOO_LONG_MESSAGE, code="max_length", params={"limit": MAX_RAW_LENGTH}
                )
        return super().to_python(value)


class BoundedCharField(_Bounded, forms.CharField):
    pass


class BoundedChoiceField(_Bounded, forms.ChoiceField):
    pass


class BoundedIntegerField(_Bounded, forms.IntegerField):
    pass


class BoundedDateField(_Bounded, forms.DateField):
    pass


# Days far outside these would overflow a timestamp once moved to the tenant's zone.
FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(9998, 12, 31)
DAY_MESSAGE = "It must be a date written YYYY-MM-DD, between 1900-01-01 and 9998-12-31."


def day_field(label: str) -> BoundedDateField:
    """A day in the tenant's time zone, written YYYY-MM-DD (what <input type=date> sends)."""
    return BoundedDateField(
        required=False,
        label=label,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": DAY_MESSAGE},
    )


def page_field() -> BoundedIntegerField:
    return BoundedIntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PAGE,
        error_messages={
            "invalid": "It must be a page number.",
            "min_value": "It must be a page number.",
            "max_value": "It must be a page number.",
        },
    )


class CursorField(forms.CharField):
    """?cursor=: a NUL or an over-long value is refused before decoding, like the other
    filters; `decode` (communications/paging.py's by default) refuses one that a page
    did not make."""

    def __init__(self, *, decode=decode_cursor, max_cursor_length=MAX_CURSOR_LENGTH, **kwargs):
        self.decode = decode
        self.max_cursor_length = max_cursor_length
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            if "\x00" in value:
                raise ValidationError(NUL_MESSAGE, code="null_characters_not_allowed")
            if len(value) > self.max_cursor_length:
                raise ValidationError(
                    TOO_LONG_MESSAGE,
                    code="max_length",
                    params={"limit": self.max_cursor_length},
                )
        value = super().to_python(value)
        return self.decode(value) if value else None


def cursor_field() -> CursorField:
    return CursorField(required=False, label="Page")


class EmailListFilters(forms.Form):
    """Communications: ?status=queued|sending|sent|error|cancelled&customer=<id>&q=
    &kind=reminder|manual&date_from=YYYY-MM-DD&date_to=YYYY-MM-DD&cursor=.

    date_from and date_to are whole days in the tenant's time zone, both included.

    `page` is accepted for old links and bookmarks and ignored (the first page is shown):
    the list is keyset-paginated and never skips rows by OFFSET.
    """

    status = BoundedChoiceField(
        required=False,
        choices=[("", "All"), *Status.choices],
        error_messages={"invalid_choice": "Choose one of the statuses in the list."},
    )
    customer = BoundedIntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        error_messages={
            "invalid": "It must be a customer number.",
            "min_value": "It must be a customer number.",
            "max_value": "It must be a customer number.",
        },
    )
    q = BoundedCharField(
        required=False,
        max_length=MAX_RAW_LENGTH,
        label="Subject or recipient",
    )
    kind = BoundedChoiceField(
        required=False,
        choices=[("", "All"), *Kind.choices],
        error_messages={"invalid_choice": "Choose one of the kinds in the list."},
    )
    date_from = day_field("From")
    date_to = day_field("To")
    cursor = cursor_field()
    page = page_field()

    def clean_date_from(self):
        return _within_range(self.cleaned_data["date_from"])

    def clean_date_to(self):
        return _within_range(self.cleaned_data["date_to"])

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", "It must be the same day as From or a later one.")
        return cleaned


def _within_range(day: datetime.date | None) -> datetime.date | None:
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(DAY_MESSAGE, code="invalid")
    return day


def with_query(path: str, params: Mapping[str, object]) -> str:
    """`path` with the non-empty `params` as its query string, in their order."""
    kept = {key: value for key, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path
