"""Forms for the Customers pages: the list's query string, the edit form, the pause form."""

from __future__ import annotations

import base64
import binascii
import json
import re

from django import forms
from django.core.exceptions import ValidationError

from communications.filters import (
    MAX_ID,
    BoundedCharField,
    BoundedChoiceField,
    CursorField,
    page_field,
)
from yaypay_mail.customer_services import MAX_REASON_LENGTH, validate_pause_reason
from yaypay_mail.models import Customer
from yaypay_mail.validators import (
    max_recipients,
    validate_email_list,
    validate_recipient_count,
)

# A cursor holds a customer's name (up to 200 characters, up to 4 bytes each) and id.
MAX_CURSOR_LENGTH = 1500
MAX_CC_LENGTH = 2000
CURSOR_MESSAGE = "It is not a page of this list; start again from the first page."
AFTER, BEFORE = "a", "b"


def encode_cursor(direction: str, name: str, pk: int) -> str:
    """The opaque `cursor` for the page after (or before) the customer (name, pk)."""
    raw = json.dumps([direction, name, pk], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[str, str, int]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        direction, name, pk = json.loads(raw.decode())
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise ValidationError(CURSOR_MESSAGE, code="invalid") from None
    if (
        direction not in (AFTER, BEFORE)
        or not isinstance(name, str)
        or len(name) > Customer._meta.get_field("name").max_length
        or "\x00" in name
        or type(pk) is not int
        or not 1 <= pk <= MAX_ID
    ):
        raise ValidationError(CURSOR_MESSAGE, code="invalid")
    return direction, name, pk


class CustomerListFilters(forms.Form):
    """/customers/?q=&paused=1|0&cursor=; `page` is accepted for old links and ignored
    (the list is keyset-paginated: it never skips rows by offset)."""

    q = BoundedCharField(required=False, label="Name, customer id or billing email")
    paused = BoundedChoiceField(
        required=False,
        label="Reminders",
        choices=[("", "All"), ("1", "Paused"), ("0", "Active")],
        error_messages={"invalid_choice": "Choose All, Paused or Active."},
    )
    cursor = CursorField(
        decode=decode_cursor,
        max_cursor_length=MAX_CURSOR_LENGTH,
        required=False,
        label="Page",
    )
    page = page_field()

    def paused_value(self) -> bool | None:
        return {"1": True, "0": False}.get(self.cleaned_data["paused"])


def parse_email_list(text: str) -> list[str]:
    """Addresses separated by commas or semicolons; blanks and repeats (ignoring case)
    are dropped."""
    addresses: list[str] = []
    seen: set[str] = set()
    for part in re.split(r"[,;]", text):
        address = part.strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            addresses.append(address)
    return addresses


class CustomerEditForm(forms.Form):
    billing_email = forms.EmailField(label="Billing email", max_length=254)
    cc_emails = forms.CharField(
        label="CC emails",
        required=False,
        max_length=MAX_CC_LENGTH,
        help_text="Separate addresses with commas or semicolons.",
    )
    reminders_paused = forms.BooleanField(label="Reminders paused", required=False)
    pause_reason = forms.CharField(
        label="Pause reason",
        required=False,
        max_length=MAX_REASON_LENGTH,
        validators=[validate_pause_reason],
        help_text="Kept only while reminders are paused.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cc_emails"].help_text = (
            "Separate addresses with commas or semicolons. A reminder goes to at most "
            f"{max_recipients()} addresses in To and Cc together."
        )

    @classmethod
    def initial_for(cls, customer: Customer) -> dict[str, object]:
        return {
            "billing_email": customer.billing_email,
            "cc_emails": ", ".join(customer.cc_emails),
            "reminders_paused": customer.reminders_paused,
            "pause_reason": customer.pause_reason,
        }

    def clean_cc_emails(self) -> list[str]:
        addresses = parse_email_list(self.cleaned_data["cc_emails"])
        validate_email_list(addresses, field="CC emails")
        return addresses

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if data.get("billing_email") and data.get("cc_emails"):
            try:
                validate_recipient_count(
                    billing_email=data["billing_email"], cc_emails=data["cc_emails"]
                )
            except ValidationError as error:
                self.add_error("cc_emails", error)
        return data


class PauseForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=MAX_REASON_LENGTH,
        validators=[validate_pause_reason],
    )
