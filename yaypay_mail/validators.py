"""Email addresses are checked where they are written (model clean, services, and the
import and API that use them), so a bad one never reaches a worker."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email


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
