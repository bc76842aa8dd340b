"""Bulk resend from Communications: which Error emails a request picks, and resending them.

A request picks either ticked rows (`ids`, repeated, and/or `ids_on_page`, the comma-
separated Error rows of the page the user was on) or, with `all_matching=1`, every Error
email that the list's filters match. Ids are always looked up within the user's tenant:
another tenant's id picks nothing. Each email goes through services.outbox_resend, which
resends only an email still in Error, so posting twice resends nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import QuerySet

from communications.filters import MAX_ID
from outbox.models import OutboundEmail, Status
from outbox.services import RESEND_BLOCKED, kick_delivery, outbox_resend
from routes.config import sending_blocked_reason, settings_for
from yaypay_mail.formatting import format_number
from yaypay_mail.models import Tenant
from yaypay_mail.paging import older_than

MAX_IDS = 500  # ticked rows per request: a page has 50
CHUNK_SIZE = 200  # emails read per query while resending all that match
COUNT_CAP = 1000  # the confirmation page counts up to this many, then says "more than"
PREVIEW_SIZE = 10

TOO_MANY_IDS = f"Tick at most {MAX_IDS} emails at a time, or resend all that match the filter."
BAD_IDS = "The ticked emails could not be read; go back to the list and tick them again."
NOTHING_PICKED = "No email is ticked: tick the Error emails to resend, or resend all that match."


class SelectionError(ValueError):
    pass


@dataclass(frozen=True)
class Selection:
    """Ticked ids (all_matching False) or every Error email of `matching`."""

    all_matching: bool
    ids: tuple[int, ...] = ()


def parse_selection(data) -> Selection:
    """The pick in a GET or POST QueryDict; SelectionError with a message for bad input."""
    if data.get("all_matching") == "1":
        return Selection(all_matching=True)
    raw = [*data.getlist("ids")]
    for group in data.getlist("ids_on_page"):
        raw.extend(group.split(","))
    if len(raw) > MAX_IDS:
        raise SelectionError(TOO_MANY_IDS)
    ids = []
    for value in raw:
        value = value.strip()
        if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_ID:
            raise SelectionError(BAD_IDS)
        ids.append(int(value))
    if not ids:
        raise SelectionError(NOTHING_PICKED)
    return Selection(all_matching=False, ids=tuple(sorted(set(ids))))


def picked_emails(
    tenant: Tenant, selection: Selection, matching: QuerySet[OutboundEmail]
) -> QuerySet[OutboundEmail]:
    """The picked emails that are in Error now, in the user's tenant only."""
    if selection.all_matching:
        return matching.filter(status=Status.ERROR)
    return OutboundEmail.objects.filter(tenant=tenant, pk__in=selection.ids, status=Status.ERROR)


@dataclass
class Preview:
    count: int  # at most COUNT_CAP
    more: bool  # more than COUNT_CAP
    first: list[OutboundEmail] = field(default_factory=list)
    not_in_error: int = 0  # ticked ids (of this tenant) that are no longer in Error


def preview(tenant: Tenant, selection: Selection, picked: QuerySet[OutboundEmail]) -> Preview:
    """What the confirmation page shows: how many (bounded), and the newest few."""
    ids = list(picked.order_by("-created_at", "-id").values_list("pk", flat=True)[: COUNT_CAP + 1])
    first = list(picked.select_related("customer").order_by("-created_at", "-id")[:PREVIEW_SIZE])
    not_in_error = 0
    if not selection.all_matching:
        ticked_here = OutboundEmail.objects.filter(tenant=tenant, pk__in=selection.ids).count()
        not_in_error = ticked_here - len(ids)
    return Preview(
        count=min(len(ids), COUNT_CAP),
        more=len(ids) > COUNT_CAP,
        first=first,
        not_in_error=not_in_error,
    )


def blocked_reason(tenant: Tenant) -> str:
    """Why nothing may be resent now ("" when it may): the tenant's server refused the
    login, and every resent email would meet the same refusal."""
    return sending_blocked_reason(settings_for(tenant))


@dataclass
class Outcome:
    queued: int = 0
    skipped: int = 0
    # The tenant's server began refusing the login meanwhile: the rest was left alone.
    stopped: bool = False

    def message(self, locale: str) -> str:
        emails = "email" if self.queued == 1 else "emails"
        queued, skipped = format_number(self.queued, locale), format_number(self.skipped, locale)
        text = f"{queued} {emails} queued again; {skipped} skipped (not in Error)"
        if self.stopped:
            text += f". The others were not resent: {RESEND_BLOCKED}."
        return text


def resend(tenant: Tenant, selection: Selection, matching: QuerySet[OutboundEmail]) -> Outcome:
    """Resend the picked emails; the caller checked blocked_reason first."""
    outcome = Outcome()
    if selection.all_matching:
        emails = _error_chunks(matching)
    else:
        # Ticked ids of another tenant, or deleted since, are neither queued nor counted.
        ticked = OutboundEmail.objects.filter(tenant=tenant, pk__in=selection.ids)
        emails = _for_resend(ticked).order_by("pk")
    for email in emails:
        # outbox_resend re-checks the status in its UPDATE; delivery is asked for once below.
        result = outbox_resend(email=email, kick=False)
        if result.ok:
            outcome.queued += 1
        elif result.message == RESEND_BLOCKED:
            outcome.stopped = True
            break
        else:
            outcome.skipped += 1
    if outcome.queued:
        kick_delivery(tenant_id=tenant.pk, queued=outcome.queued)
    return outcome


def _error_chunks(matching: QuerySet[OutboundEmail]) -> Iterator[OutboundEmail]:
    """Every Error email of `matching`, newest first, CHUNK_SIZE a query: each query
    starts after the last (created_at, id) of the one before, on the list's own index
    (communications/paging.py), so the whole history is never loaded at once and an
    email resent meanwhile (no longer Error) cannot shift a later chunk."""
    errors = _for_resend(matching.filter(status=Status.ERROR)).order_by("-created_at", "-id")
    position = None
    while True:
        chunk = errors if position is None else errors.filter(older_than(*position))
        emails = list(chunk[:CHUNK_SIZE])
        yield from emails
        if len(emails) < CHUNK_SIZE:
            return
        position = (emails[-1].created_at, emails[-1].pk)


def _for_resend(emails: QuerySet[OutboundEmail]) -> QuerySet[OutboundEmail]:
    # outbox_resend reads email.tenant: joined here, not one query per email.
    return emails.select_related(None).select_related("tenant").defer("body_text", "body_html")
