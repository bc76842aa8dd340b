"""Reads on the outbox that pages share. Every one is scoped by tenant."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable

from django.db.models import OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.functions import Cast

from outbox.models import Kind, OutboundEmail, Status
from yaypay_mail.models import Customer, Tenant

# Lists never show bodies; a reminder's HTML can be large.
LIST_DEFERRED = ("body_text", "body_html")


def _listed(queryset: QuerySet[OutboundEmail]) -> QuerySet[OutboundEmail]:
    return queryset.select_related("customer").defer(*LIST_DEFERRED)


def emails_for_tenant(
    tenant: Tenant,
    *,
    status: str | None = None,
    customer: Customer | None = None,
    q: str = "",
    kind: str | None = None,
    created_from: datetime.datetime | None = None,
    created_before: datetime.datetime | None = None,
) -> QuerySet[OutboundEmail]:
    """The tenant's emails, newest first by (created_at, id); `q` matches the subject or
    any To/Cc address, ignoring case (see search_filter); created_from <= created_at <
    created_before (communications.day_range makes them from the tenant's days). Page it
    with yaypay_mail.paging.keyset_page: each filter combination has an index that
    serves this order (models.OutboundEmail.Meta.indexes, docs/performance.md); the
    created_at bounds are conditions on the same indexes."""
    emails = OutboundEmail.objects.filter(tenant=tenant)
    if status:
        emails = emails.filter(status=status)
    if customer is not None:
        emails = emails.filter(customer=customer)
    if kind:
        emails = emails.filter(kind=kind)
    if created_from is not None:
        emails = emails.filter(created_at__gte=created_from)
    if created_before is not None:
        emails = emails.filter(created_at__lt=created_before)
    q = q.strip()
    if q:
        emails = _searchable(emails).filter(search_filter(q))
    return _listed(emails).order_by("-created_at", "-id")


# Shorter than this, a search is a prefix match: pg_trgm cannot find "%ab%" in its index
# (no whole trigram), but it can find a word that starts with "ab".
MIN_CONTAINS_LENGTH = 3


def search_filter(q: str) -> Q:
    """What `q` (stripped, not empty) matches, ignoring case.

    Three characters or more: a part of the subject or of any To/Cc address. Fewer: the
    start of the subject or of any To/Cc address. The recipient lists are JSON arrays;
    their text (jsonb::text on PostgreSQL, the stored JSON on SQLite) holds every address
    in quotes, so `"ab` is the start of an address, on both databases, in one LIKE.

    On PostgreSQL each test compiles to UPPER(<expr>::text) LIKE UPPER('...'), the exact
    expressions of the trigram index outbox_search_trgm (migration 0004): keep them in
    step (tests/communications/test_search_indexes.py checks the plan).
    """
    if len(q) >= MIN_CONTAINS_LENGTH:
        subject, address = Q(subject__icontains=q), q
    else:
        # JSON-escape the prefix as it is stored (a quote or backslash in an address).
        subject, address = Q(subject__istartswith=q), '"' + json.dumps(q)[1:-1]
    return subject | Q(to_text__icontains=address) | Q(cc_text__icontains=address)


def _searchable(emails: QuerySet[OutboundEmail]) -> QuerySet[OutboundEmail]:
    return emails.alias(
        to_text=Cast("to_addresses", TextField()),
        cc_text=Cast("cc_addresses", TextField()),
    )


def emails_for_customer(customer: Customer) -> QuerySet[OutboundEmail]:
    """The customer's emails, newest first."""
    return _listed(
        OutboundEmail.objects.filter(tenant_id=customer.tenant_id, customer=customer)
    ).order_by("-created_at", "-id")


def latest_reminders_of(tenant: Tenant, customer_ids: Iterable[int]) -> dict[int, OutboundEmail]:
    """The newest reminder (by created_at, id) of each of these customers, by customer id
    (customers never reminded are absent): one query, whose subquery per customer reads
    the top of outbox_customer_created, whatever the customer's history."""
    newest = (
        OutboundEmail.objects.filter(tenant=tenant, customer_id=OuterRef("pk"), kind=Kind.REMINDER)
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    latest = (
        Customer.objects.filter(tenant=tenant, pk__in=list(customer_ids))
        .annotate(latest=Subquery(newest))
        .values("latest")
    )
    emails = OutboundEmail.objects.filter(pk__in=latest).defer(*LIST_DEFERRED)
    return {email.customer_id: email for email in emails}


def recent_errors(tenant: Tenant, limit: int = 10) -> list[OutboundEmail]:
    """The tenant's newest emails in Error: read from the top of
    outbox_tenant_status_created, whatever the tenant's history (ordering by the time
    they failed would sort every Error the tenant ever had)."""
    errors = OutboundEmail.objects.filter(tenant=tenant, status=Status.ERROR)
    return list(_listed(errors).order_by("-created_at", "-id")[:limit])
