"""Writes on a customer from the app's pages: its addresses and its reminder pause.

Each write locks the customer's row, compares with what is stored, saves only what
changed and records it as one CustomerChange (source "app", the acting user); a write
that changes nothing records nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from .models import ChangeSource, Customer, CustomerChange
from .validators import reject_invisible_controls, validate_email_list, validate_recipient_count

# The fields an admin edits on /customers/<id>/edit/, in the order history shows them.
EDITABLE_FIELDS = ("billing_email", "cc_emails", "reminders_paused", "pause_reason")
MAX_REASON_LENGTH = 200
MAX_EMAIL_LENGTH = 254
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def validate_pause_reason(reason: str) -> None:
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(
            f"The reason is too long (at most {MAX_REASON_LENGTH} characters).", code="max_length"
        )
    if _CONTROL.search(reason):
        raise ValidationError(
            "The reason must be one line, without line breaks or control characters.",
            code="control_characters",
        )
    reject_invisible_controls(reason)


def _validate_billing_email(value) -> None:
    if not isinstance(value, str) or len(value) > MAX_EMAIL_LENGTH:
        raise ValidationError("Enter a valid email address.")
    validate_email(value)


def _validate_reminders_paused(value) -> None:
    if not isinstance(value, bool):
        raise ValidationError("It must be true or false.")


def _validate_reason(value) -> None:
    if not isinstance(value, str):
        raise ValidationError("It must be text.")
    validate_pause_reason(value)


_CHECKS = {
    "billing_email": _validate_billing_email,
    "cc_emails": lambda value: validate_email_list(value, field="CC emails"),
    "reminders_paused": _validate_reminders_paused,
    "pause_reason": _validate_reason,
}


def _checked(data: Mapping[str, object]) -> dict[str, object]:
    """`data`, every field editable and valid."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"These fields cannot be edited here: {', '.join(sorted(unknown))}.")
    values = dict(data)
    errors: dict[str, list[str]] = {}
    for name, check in _CHECKS.items():
        if name in values:
            try:
                check(values[name])
            except ValidationError as error:
                errors[name] = error.messages
    if "cc_emails" in values and "cc_emails" not in errors and "billing_email" not in errors:
        try:
            validate_recipient_count(
                billing_email=values.get("billing_email"), cc_emails=values["cc_emails"]
            )
        except ValidationError as error:
            errors["cc_emails"] = error.messages
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def _apply(*, customer: Customer, actor, values: dict[str, object]) -> CustomerChange | None:
    stored = Customer.objects.select_for_update().get(pk=customer.pk, tenant_id=customer.tenant_id)
    if not values.get("reminders_paused", stored.reminders_paused):
        values = {**values, "pause_reason": ""}  # a reason is kept only while paused
    changes = {
        name: [getattr(stored, name), value]
        for name, value in values.items()
        if getattr(stored, name) != value
    }
    if not changes:
        _refresh(customer, stored)
        return None
    for name, (_old, new) in changes.items():
        setattr(stored, name, new)
    stored.save(update_fields=list(changes))
    _refresh(customer, stored)
    return CustomerChange.objects.create(
        tenant_id=customer.tenant_id,
        customer=stored,
        actor=actor,
        source=ChangeSource.APP,
        changes=changes,
    )


def _refresh(customer: Customer, stored: Customer) -> None:
    """The caller's instance shows what is stored now."""
    for name in EDITABLE_FIELDS:
        setattr(customer, name, getattr(stored, name))


def customer_update(
    *, customer: Customer, actor, data: Mapping[str, object]
) -> CustomerChange | None:
    """Save the editable fields in `data` (absent ones are left alone). Returns the change
    recorded, or None when nothing changed. Raises ValidationError and saves nothing if a
    value is invalid."""
    return _apply(customer=customer, actor=actor, values=_checked(data))


def customer_pause(*, customer: Customer, actor, reason: str = "") -> CustomerChange | None:
    """Pause the customer's reminders, with an optional one-line reason (a paused
    customer gets the new reason)."""
    reason = reason.strip()
    return customer_update(
        customer=customer, actor=actor, data={"reminders_paused": True, "pause_reason": reason}
    )


def customer_unpause(*, customer: Customer, actor) -> CustomerChange | None:
    """Resume the customer's reminders; the pause reason is cleared."""
    return customer_update(customer=customer, actor=actor, data={"reminders_paused": False})
