"""Payment reminders: which customers get one today, what it says, and what is still
owed just before it goes out."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from yaypay_mail.models import Customer, Invoice, Tenant

from .emails import RenderedEmail, render_email
from .models import Kind, OutboundEmail, ReminderSettings, Status


def local_today(limits: ReminderSettings, now: datetime.datetime | None = None) -> datetime.date:
    return (now or timezone.now()).astimezone(ZoneInfo(limits.time_zone)).date()


def _overdue(today: datetime.date) -> Q:
    return Q(paid=False, due_on__lt=today, open_balance__gt=0)


def render_reminder(
    *, tenant: Tenant, customer: Customer, invoices: list[Invoice], today: datetime.date
) -> RenderedEmail:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        invoice.days_overdue_now = invoice.days_overdue(today)
        totals[invoice.currency] += invoice.open_balance
    return render_email(
        "reminder",
        {
            "tenant": tenant,
            "customer": customer,
            "invoices": invoices,
            "totals": [{"currency": c, "amount": totals[c]} for c in sorted(totals)],
        },
    )


def due_customers(*, tenant: Tenant, today: datetime.date):
    """Customers who are not paused, whose gap has passed, with overdue open invoices."""
    overdue = Invoice.objects.filter(_overdue(today), customer=OuterRef("pk"))
    return (
        Customer.objects.filter(tenant=tenant, reminders_paused=False)
        .filter(Q(next_reminder_on__isnull=True) | Q(next_reminder_on__lte=today))
        .filter(Exists(overdue))
        .order_by("id")
    )


def schedule_reminders(
    *,
    tenant: Tenant,
    today: datetime.date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Queue today's reminders for the tenant; running it again the same day queues none.

    The gap is a guarded UPDATE of the customer's next-reminder date (only one run can
    move it), and the unique (customer, reminder date) constraint makes a same-day
    duplicate impossible even if dates are edited by hand."""
    from .services import NewEmail, kick_delivery, outbox_enqueue_many, reminder_settings_for

    limits = reminder_settings_for(tenant)
    today = today or local_today(limits)
    next_date = today + datetime.timedelta(days=limits.interval_days)
    customers = list(due_customers(tenant=tenant, today=today))
    queued = 0
    for done, customer in enumerate(customers, start=1):
        try:
            with transaction.atomic():
                won = (
                    Customer.objects.filter(pk=customer.pk)
                    .filter(Q(next_reminder_on__isnull=True) | Q(next_reminder_on__lte=today))
                    .update(next_reminder_on=next_date)
                )
                if won:
                    invoices = list(
                        customer.invoices.filter(_overdue(today)).order_by("due_on", "number")
                    )
                    rendered = render_reminder(
                        tenant=tenant, customer=customer, invoices=invoices, today=today
                    )
                    outbox_enqueue_many(
                        tenant=tenant,
                        emails=[
                            NewEmail(
                                to=[customer.billing_email],
                                cc=customer.cc_emails,
                                subject=rendered.subject,
                                text=rendered.text,
                                html=rendered.html,
                                customer=customer,
                                kind=Kind.REMINDER,
                                reminder_date=today,
                                invoices=invoices,
                            )
                        ],
                        kick=False,
                    )
                    queued += 1
        except IntegrityError:
            pass  # today's reminder exists already
        if progress:
            progress(done, len(customers))
    if queued:
        kick_delivery(tenant_id=tenant.pk, queued=queued)
    return queued


def refresh_reminders(
    batch: list[OutboundEmail],
    *,
    owner: str,
    on_error: Callable[[OutboundEmail, Exception], None],
) -> list[OutboundEmail]:
    """Just before sending: a reminder whose invoices were all paid becomes Cancelled; one
    with some paid is re-rendered without them. Returns what is left to send; a reminder
    that cannot be re-rendered goes to `on_error` instead."""
    reminder_ids = [email.pk for email in batch if email.kind == Kind.REMINDER]
    if not reminder_ids:
        return batch
    links = OutboundEmail.invoices.through.objects.filter(
        outboundemail_id__in=reminder_ids
    ).select_related("invoice")
    invoices_of: dict[int, list[Invoice]] = defaultdict(list)
    for link in links:
        invoices_of[link.outboundemail_id].append(link.invoice)

    keep = []
    for email in batch:
        invoices = invoices_of.get(email.pk)
        if email.kind != Kind.REMINDER or not invoices:
            keep.append(email)
            continue
        try:
            if _refresh_reminder(email, invoices, owner=owner):
                keep.append(email)
        except Exception as error:
            on_error(email, error)
    return keep


def _refresh_reminder(email: OutboundEmail, invoices: list[Invoice], *, owner: str) -> bool:
    """False when the reminder was cancelled (everything in it is paid)."""
    still_open = [i for i in invoices if not i.paid and i.open_balance > 0]
    if not still_open:
        OutboundEmail.objects.filter(pk=email.pk, lease_owner=owner, status=Status.SENDING).update(
            status=Status.CANCELLED,
            lease_owner="",
            lease_expires_at=None,
            claims=0,
            error_message="All its invoices were paid before it was sent.",
            updated_at=timezone.now(),
        )
        return False
    # Re-rendered every time: paid invoices drop out and part-payments show as
    # they stand now, not as they stood when the reminder was queued.
    still_open.sort(key=lambda i: (i.due_on, i.number))
    rendered = render_reminder(
        tenant=email.tenant,
        customer=email.customer,
        invoices=still_open,
        today=email.reminder_date,
    )
    current = (rendered.subject, rendered.text, rendered.html)
    if current != (email.subject, email.body_text, email.body_html):
        email.subject, email.body_text, email.body_html = current
        OutboundEmail.objects.filter(pk=email.pk).update(
            subject=email.subject, body_text=email.body_text, body_html=email.body_html
        )
    if len(still_open) < len(invoices):
        email.invoices.set(still_open)
    return True
