"""The tenant's outgoing emails, newest first, in keyset pages.

A cursor is the Communications page's own (yaypay_mail.paging): the position of the
last email of the page before; it is opaque to clients and checked like any other
parameter."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router

from outbox.models import OutboundEmail
from outbox.selectors import emails_for_tenant
from yaypay_mail.models import Customer
from yaypay_mail.paging import AFTER, Cursor, decode_cursor, encode_cursor, older_than

from .errors import ApiError, error
from .schemas import ERRORS, EmailFilters, EmailPage

router = Router()


def _position(cursor: str) -> Cursor:
    try:
        return decode_cursor(cursor)
    except ValidationError:
        raise ApiError(422, [error("cursor", "is not a cursor this API gave")]) from None


def email_json(email: OutboundEmail) -> dict:
    return {
        "id": email.pk,
        "status": email.status,
        "kind": email.kind,
        "customer_id": email.customer.external_id if email.customer else None,
        "to": list(email.to_addresses),
        "cc": list(email.cc_addresses),
        "subject": email.subject,
        "error_code": email.error_code,
        "reason": email.error_message,
        "smtp_code": email.smtp_code,
        "created_at": email.created_at,
        "sent_at": email.sent_at,
        "updated_at": email.updated_at,
    }


@router.get("/emails", response={200: EmailPage, **ERRORS}, tags=["emails"])
def email_list(request: HttpRequest, filters: Query[EmailFilters]):
    """The tenant's outgoing emails, newest first by (created_at, id). Pass next_cursor
    back as ?cursor= (with the same filters) for the next page; null means the last."""
    tenant = request.auth.tenant
    customer = None
    if filters.customer_id is not None:
        customer = Customer.objects.filter(
            tenant=tenant, external_id=filters.customer_id.strip()
        ).first()
        if customer is None:
            return {"items": [], "next_cursor": None}
    emails = emails_for_tenant(tenant, status=filters.status, customer=customer)
    if filters.since is not None:
        since = filters.since
        if timezone.is_naive(since):
            since = timezone.make_aware(since, datetime.UTC)
        emails = emails.filter(created_at__gte=since)
    if filters.cursor:
        position = _position(filters.cursor)
        emails = emails.filter(older_than(position.created_at, position.pk))
    page = list(emails[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return {
        "items": [email_json(email) for email in page],
        "next_cursor": encode_cursor(AFTER, page[-1].created_at, page[-1].pk) if more else None,
    }
