"""The emails that the Communications filters match: shared by the list, its CSV export
and bulk resend, so all three read the same rows for the same address."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from communications.day_range import created_between
from dunning.services import reminder_settings_for
from outbox.models import OutboundEmail
from outbox.selectors import emails_for_tenant
from yaypay_mail.models import Customer
from yaypay_mail.tenancy import get_for_tenant

# The query-string filters, in the order the page's links write them.
FILTERS = ("status", "customer", "q", "kind", "date_from", "date_to")


@dataclass(frozen=True)
class Matching:
    emails: QuerySet[OutboundEmail]
    customer: Customer | None
    time_zone: str
    locale: str


def matching_emails(request, cleaned: dict, *, status: str | None = None) -> Matching:
    """The tenant's emails that the cleaned EmailListFilters match, newest first.
    `status`, when given, replaces the status filter. Another tenant's customer: 404."""
    customer = None
    if cleaned.get("customer") is not None:
        customer = get_for_tenant(request, Customer, cleaned["customer"])
    reminder_settings = reminder_settings_for(request.tenant)
    time_zone = request.tenant.time_zone
    created_from, created_before = created_between(
        cleaned.get("date_from"), cleaned.get("date_to"), time_zone
    )
    emails = emails_for_tenant(
        request.tenant,
        status=status or cleaned.get("status") or None,
        customer=customer,
        q=cleaned.get("q") or "",
        kind=cleaned.get("kind") or None,
        created_from=created_from,
        created_before=created_before,
    )
    return Matching(
        emails=emails, customer=customer, time_zone=time_zone, locale=reminder_settings.locale
    )


def known_filters(cleaned: dict) -> dict[str, str]:
    """The filters that were given and valid, as query-string text (days as YYYY-MM-DD)."""
    filters = {}
    for name in FILTERS:
        value = cleaned.get(name)
        if value not in (None, ""):
            filters[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return filters
