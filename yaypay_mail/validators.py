"""Checks on values where they are written (model clean, services, forms, and the import
and API that use them), so a bad one never reaches a worker or a message."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# Bidirectional embeddings, overrides and isolates, zero-width characters and the BOM:
# invisible in a page or a mail client, they can make a name or subject read
# differently from what is stored ("Trojan Source").
_INVISIBLE_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200d\ufeff]")


def reject_invisible_controls(value: object) -> None:
    """Raise ValidationError (code "invisible_control") when `value`, a string, holds a
    bidirectional or zero-width control character; anything else passes."""
    if not isinstance(value, str):
        return
    found = _INVISIBLE_CONTROLS.search(value)
    if found:
        raise ValidationError(
            "Invisible or text-direction control characters are not allowed "
            f"(found U+{ord(found.group()):04X}); remove it and type the text again.",
            code="invisible_control",
        )


def max_recipients() -> int:
    return settings.MAX_RECIPIENTS


def recipients_message(count: int) -> str:
    limit = max_recipients()
    return (
        f"A reminder can have at most {limit} addresses in To and Cc together: the billing "
        f"email and up to {limit - 1} CC addresses ({count} given)."
    )


def validate_recipient_count(*, billing_email: str | None, cc_emails: list[str]) -> None:
    """The billing email (To) and the CC addresses, counted once each ignoring case, must
    fit in one message (settings.MAX_RECIPIENTS)."""
    addresses = {address.lower() for address in cc_emails if isinstance(address, str)}
    count = len(addresses | {billing_email.lower()}) if billing_email else len(addresses) + 1
    if count > max_recipients():
        raise ValidationError(recipients_message(count), code="too_many_recipients")


def validate_email_list(value, *, field: str = "cc_emails") -> None:
    """A list of email addresses, each a string that is one valid address."""
    if not isinstance(value, list):
        raise ValidationError(f"{field} must be a list of email addresses.")
    for address in value:
        if not isinstance(address, str):
            raise ValidationError(f"{field}: {address!r} is not an email address.")
        try:
            validate_email(address)
        except ValidationError:
            shown = address if address.isprintable() else repr(address)
            raise ValidationError(f"{field}: {shown} is not a valid email address.") from None
