"""The reminders' part in sending, registered with the engine (outbox.hooks): just before
a batch goes out, each reminder is read again against its invoices and re-rendered (or
cancelled), and carries the tenant's logo when its HTML shows it."""

from __future__ import annotations

from dunning.reminder_look import LOGO_CID, load_look, remember_look
from dunning.reminders import refresh_reminders
from outbox.hooks import OnError, Ready
from outbox.models import OutboundEmail
from routes.messages import InlineImage


def prepare_reminders(emails: list[OutboundEmail], *, owner: str, on_error: OnError) -> list[Ready]:
    # Read once for the batch: each email's tenant is its own instance.
    look = load_look(emails[0].tenant, with_logo=True)
    for email in emails:
        remember_look(email.tenant, look)
    logo = InlineImage(look.logo, look.logo_content_type, LOGO_CID) if look.logo else None
    return [
        (email, logo if logo and f"cid:{LOGO_CID}" in email.body_html else None)
        for email in refresh_reminders(emails, owner=owner, on_error=on_error)
    ]
