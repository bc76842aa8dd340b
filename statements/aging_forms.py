"""The Aging Report's query string: ?currency=EUR&sort=overdue|total|name&cursor=<opaque>.

`page` is accepted for old links and ignored (the report is keyset-paginated). Bad values
are refused before any query, with a message, like the other lists.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from django import forms
from django.core.exceptions import ValidationError

from communications.filters import (
    MAX_ID,
    BoundedCharField,
    BoundedChoiceField,
    CursorField,
    page_field,
)
from yaypay_mail.models import Customer

SORTS = [("overdue", "Overdue"), ("total", "Total"), ("name", "Customer")]
DEFAULT_SORT = "overdue"
SORT_MESSAGE = "Choose overdue, total or customer, as in Sort by."
AFTER, BEFORE = "a", "b"
# A cursor holds a customer's name (up to 200 characters, up to 4 bytes each) or an amount.
MAX_CURSOR_LENGTH = 1500
CURSOR_MESSAGE = "It is not a page of this list; start again from the first page."
_CURRENCY = re.compile(r"[A-Z]{3}")
_MAX_AMOUNT = Decimal("1e14")  # CustomerBalance totals: 16 digits, 2 after the point


class AgingCursor(NamedTuple):
    direction: str  # AFTER or BEFORE
    sort: str
    currency: str
    key: str | Decimal  # the name, or the overdue or open total
    pk: int  # the customer's id: ties are broken by it


def encode_cursor(direction: str, sort: str, currency: str, key, pk: int) -> str:
    raw = json.dumps(
        [direction, sort, currency, str(key), pk], ensure_ascii=False, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> AgingCursor:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        direction, sort, currency, key, pk = json.loads(raw.decode())
        if (
            direction not in (AFTER, BEFORE)
            or sort not in dict(SORTS)
            or not isinstance(currency, str)
            or not _CURRENCY.fullmatch(currency)
            or not isinstance(key, str)
            or "\x00" in key
            or type(pk) is not int
            or not 1 <= pk <= MAX_ID
        ):
            raise ValueError
        if sort == "name":
            if len(key) > Customer._meta.get_field("name").max_length:
                raise ValueError
        else:
            key = Decimal(key)
            if not key.is_finite() or abs(key) >= _MAX_AMOUNT:
                raise ValueError
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, InvalidOperation):
        raise ValidationError(CURSOR_MESSAGE, code="invalid") from None
    return AgingCursor(direction, sort, currency, key, pk)


class AgingFilters(forms.Form):
    currency = BoundedCharField(required=False, label="Currency")
    sort = BoundedChoiceField(
        required=False,
        label="Sort",
        choices=[("", "Overdue"), *SORTS],
        # In the words of the page's "Sort by" links, not the query string's values.
        error_messages={"invalid_choice": SORT_MESSAGE},
    )
    cursor = CursorField(
        decode=decode_cursor,
        max_cursor_length=MAX_CURSOR_LENGTH,
        required=False,
        label="Page",
    )
    page = page_field()

    def clean_currency(self) -> str:
        code = self.cleaned_data["currency"].strip().upper()
        if code and not _CURRENCY.fullmatch(code):
            raise ValidationError("It must be a three-letter currency code, such as EUR.")
        return code

    def clean_sort(self) -> str:
        return self.cleaned_data["sort"] or DEFAULT_SORT

    def clean(self):
        cleaned = super().clean()
        cursor = cleaned.get("cursor")
        if cursor is not None and "sort" in cleaned and "currency" in cleaned:
            # A cursor positions within one sort of one currency: another's is not a page
            # of this list. Without ?currency=, the cursor's currency is the page's.
            if cursor.sort != cleaned["sort"] or cursor.currency != (
                cleaned["currency"] or cursor.currency
            ):
                self.add_error("cursor", CURSOR_MESSAGE)
            else:
                cleaned["currency"] = cursor.currency
        return cleaned

    def given(self) -> dict[str, str]:
        """The filters the address gave (cleaned), for links that keep them."""
        return {
            name: self.cleaned_data[name]
            for name in ("currency", "sort")
            if self.data.get(name) and self.cleaned_data.get(name)
        }
