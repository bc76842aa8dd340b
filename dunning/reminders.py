"""Payment reminders: which customers get one today, what it says, and what is still
owed just before it goes out."""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from dunning.emails import RenderedEmail, render_email
from dunning.models import ReminderSettings
from dunning.placeholders import fill
from dunning.reminder_blocks import blocks_to_ask, credits_of, overdue_q, something_to_ask
from dunning.reminder_look import LOGO_CID, ReminderLook, look_for
from dunning.services import reminder_settings_for
from outbox import transitions
from outbox.models import Kind, OutboundEmail
from outbox.services import NewEmail, outbox_enqueue_many
from outbox.tasks import kick_delivery
from yaypay_mail.formatting import format_amount, format_day, format_number
from yaypay_mail.models import Customer, Invoice, Tenant
from yaypay_mail.validators import validate_email_list

logger = logging.getLogger(__name__)

# Customers per transaction when scheduling: a fixed number of queries each.
CHUNK_SIZE = 500
# Beat's tick holds a tenant this long while it schedules; if its worker dies, the
# tenant is due again after it.
CLAIM_FOR = datetime.timedelta(minutes=15)
# A tenant whose scheduling raised is tried again after this, not at every tick.
RETRY_AFTER = datetime.timedelta(minutes=5)


def _overdue(today: datetime.date) -> Q:
    return overdue_q(today)


def render_reminder(
    *,
    tenant: Tenant,
    customer: Customer,
    invoices: list[Invoice],
    today: datetime.date,
    credits: Iterable[Invoice] = (),
    look: ReminderLook | None = None,
    logo_src: str | None = None,
) -> RenderedEmail:
    """The reminder as the customer reads it, in the tenant's words and locale: per
    currency, the overdue `invoices`, the open `credits` and the balance to pay; a
    currency whose credits cover its overdue invoices is left out (callers check
    `blocks_to_ask` first: with nothing left there is no reminder). `look` defaults to
    the tenant's saved one; `logo_src` to the inline logo's cid: (the settings page's
    preview passes a data: URL)."""
    look = look or look_for(tenant)
    locale = look.locale
    blocks = blocks_to_ask(invoices, credits)
    asked = [invoice for block in blocks for invoice in block.invoices]
    oldest = 0
    shown = []
    for block in blocks:
        rows = []
        for invoice in block.invoices:
            days = invoice.days_overdue(today)
            invoice.days_overdue_now = days
            oldest = max(oldest, days)
            rows.append(
                {
                    "number": invoice.number,
                    "due": format_day(invoice.due_on, locale),
                    "days": format_number(days, locale),
                    "days_text": f"{format_number(days, locale)} day{'' if days == 1 else 's'}",
                    "amount": format_amount(invoice.open_balance, invoice.currency, locale),
                }
            )
        credit_rows = [
            {
                "number": credit.number,
                "due": format_day(credit.due_on, locale),
                "amount": format_amount(credit.open_balance, credit.currency, locale),
            }
            for credit in block.credits
        ]
        shown.append(
            {
                "currency": block.currency,
                "rows": rows,
                "credits": credit_rows,
                "overdue": format_amount(block.overdue, block.currency, locale),
                "balance": format_amount(block.balance, block.currency, locale),
            }
        )
    values = {
        "customer_name": customer.name,
        "total_overdue": ", ".join(block["overdue"] for block in shown),
        "balance_due": ", ".join(block["balance"] for block in shown),
        "oldest_days_overdue": format_number(oldest, locale),
    }
    plural = "" if len(asked) == 1 else "s"
    credits_listed = sum(len(block.credits) for block in blocks)
    if look.has_logo and logo_src is None:
        logo_src = f"cid:{LOGO_CID}"
    return render_email(
        "reminder",
        {
            "subject": fill(look.subject, values)
            if look.subject
            else f"Payment reminder from {tenant.name}: {len(asked)} overdue invoice{plural}",
            "tenant_name": tenant.name,
            "logo_src": logo_src if look.has_logo else "",
            "greeting": f"Dear {customer.name},",
            "opening": fill(look.opening, values)
            if look.opening
            else _default_opening(plural=plural, credits=credits_listed, values=values),
            "blocks": shown,
            "several_currencies": len(shown) > 1,
            "how_to_pay": fill(look.how_to_pay, values),
            "closing": fill(look.closing, values)
            if look.closing
            else "If you have already paid, thank you, and please ignore this reminder.",
            "contact_line": fill(look.contact_line, values),
            "reply_line": "If you have questions, simply reply to this email."
            if look.replies_reach_tenant
            else "",
        },
    )


def _default_opening(*, plural: str, credits: int, values: dict[str, str]) -> str:
    listed = f" and your open credit{'' if credits == 1 else 's'}" if credits else ""
    return fill(
        f"Our records show the following invoice{plural} past due{listed}. "
        "Please pay the balance due of {balance_due}.",
        values,
    )


def due_customers(*, tenant: Tenant, today: datetime.date):
    """Customers who are not paused, whose gap has passed, and who owe something overdue
    in some currency once their open credits are netted in."""
    return (
        Customer.objects.filter(tenant=tenant, reminders_paused=False)
        .filter(Q(next_reminder_on__isnull=True) | Q(next_reminder_on__lte=today))
        .filter(something_to_ask(today))
        .order_by("id")
    )


def schedule_reminders(
    *,
    tenant: Tenant,
    today: datetime.date | None = None,
    progress: Callable[[int, int], None] | None = None,
    limits: ReminderSettings | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Queue today's reminders for the tenant; running it again the same day queues none.

    Works in chunks of customers, each in one transaction with a fixed number of queries
    (whatever the chunk's size): a guarded UPDATE of the chunk's next-reminder dates that
    says which customers this run won (only one run can move a date), their overdue
    invoices, one bulk insert of the emails and one of their invoice links. The unique
    (customer, reminder date) constraint makes a same-day duplicate impossible even if
    dates are edited by hand. `progress(done, total)` is called after each chunk."""
    limits = limits or reminder_settings_for(tenant)
    today = today or tenant.local_today()
    next_date = today + datetime.timedelta(days=limits.interval_days)
    customers = list(due_customers(tenant=tenant, today=today))
    queued = 0
    for start in range(0, len(customers), chunk_size):
        chunk = customers[start : start + chunk_size]
        queued += _schedule_chunk(tenant=tenant, chunk=chunk, today=today, next_date=next_date)
        if progress:
            progress(start + len(chunk), len(customers))
    if queued:
        kick_delivery(tenant_id=tenant.pk, queued=queued)
    return queued


def _schedule_chunk(
    *, tenant: Tenant, chunk: list[Customer], today: datetime.date, next_date: datetime.date
) -> int:
    with transaction.atomic():
        won = _advance_next_reminder([c.pk for c in chunk], today=today, next_date=next_date)
        if not won:
            return 0
        invoices_of: dict[int, list[Invoice]] = defaultdict(list)
        for invoice in Invoice.objects.filter(_overdue(today), customer_id__in=won).order_by(
            "customer_id", "due_on", "number"
        ):
            invoices_of[invoice.customer_id].append(invoice)
        credits = credits_of(won)

        emails: list[NewEmail] = []
        give_back: list[Customer] = []
        for customer in chunk:
            if customer.pk not in won:
                continue  # another run took this customer
            blocks = blocks_to_ask(invoices_of.get(customer.pk, []), credits.get(customer.pk, []))
            if not blocks:
                # Paid or credited since the due query: nothing to remind.
                give_back.append(customer)
                continue
            invoices = [invoice for block in blocks for invoice in block.invoices]
            try:
                # Checked here, as the enqueue service would, so that one customer's bad
                # address costs only its own reminder, not its chunk's.
                validate_email_list([customer.billing_email], field="to")
                validate_email_list(customer.cc_emails, field="cc")
                rendered = render_reminder(
                    tenant=tenant,
                    customer=customer,
                    invoices=invoices,
                    credits=credits.get(customer.pk, []),
                    today=today,
                )
            except Exception:
                logger.exception(
                    "Reminder not queued: it could not be built",
                    extra={"tenant_id": tenant.pk, "customer_id": customer.pk},
                )
                give_back.append(customer)
                continue
            emails.append(
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
            )
        for customer in give_back:  # rare: their date goes back, so the next run retries
            Customer.objects.filter(pk=customer.pk, next_reminder_on=next_date).update(
                next_reminder_on=customer.next_reminder_on
            )
        if not emails:
            return 0
        try:
            # Its own savepoint: a duplicate rolls back only the inserts, not the chunk.
            outbox_enqueue_many(tenant=tenant, emails=emails, kick=False)
            return len(emails)
        except IntegrityError:
            pass
        # Some customer has today's reminder already (dates edited by hand): one by one,
        # each in a savepoint, so that the others in the chunk are still queued.
        queued = 0
        for new in emails:
            try:
                outbox_enqueue_many(tenant=tenant, emails=[new], kick=False)
                queued += 1
            except IntegrityError:
                pass  # today's reminder exists already
        return queued


def _advance_next_reminder(
    ids: list[int], *, today: datetime.date, next_date: datetime.date
) -> set[int]:
    """Move the customers' next-reminder date to `next_date` where it is still due, and
    return those this call moved. Two runs racing over the same customers cannot both
    win one: PostgreSQL re-checks the guard on a row another transaction just updated
    (and waits for it to commit), SQLite writes one transaction at a time."""
    if _update_returning():
        quote = connection.ops.quote_name
        placeholders = ", ".join(["%s"] * len(ids))
        sql = (
            f"UPDATE {quote(Customer._meta.db_table)} SET {quote('next_reminder_on')} = %s "
            f"WHERE {quote('id')} IN ({placeholders}) AND ({quote('next_reminder_on')} IS NULL "
            f"OR {quote('next_reminder_on')} <= %s) RETURNING {quote('id')}"
        )
        adapt = connection.ops.adapt_datefield_value
        with connection.cursor() as cursor:
            cursor.execute(sql, [adapt(next_date), *ids, adapt(today)])
            return {row[0] for row in cursor.fetchall()}
    won = set()  # databases without UPDATE ... RETURNING: one guarded UPDATE each
    for pk in ids:
        if (
            Customer.objects.filter(pk=pk)
            .filter(Q(next_reminder_on__isnull=True) | Q(next_reminder_on__lte=today))
            .update(next_reminder_on=next_date)
        ):
            won.add(pk)
    return won


def _update_returning() -> bool:
    if connection.vendor == "postgresql":
        return True
    if connection.vendor == "sqlite":
        import sqlite3

        return sqlite3.sqlite_version_info >= (3, 35)
    return False


# --- beat's reminder tick ------------------------------------------------------------


def sending_time(day: datetime.date, hour: int, zone: ZoneInfo) -> datetime.datetime:
    """The UTC instant of `hour`:00 on the local `day`. A local time that does not exist
    (the hour a spring-forward skips) takes the offset from before the change (fold=0),
    which lands on the first instant after the gap: that day's run still happens."""
    local = datetime.datetime.combine(day, datetime.time(hour), tzinfo=zone)
    return local.astimezone(datetime.UTC)


def next_run(
    limits: ReminderSettings, now: datetime.datetime, *, time_zone: str
) -> tuple[bool, datetime.datetime]:
    """(whether today's local sending hour has come, when the tick should look again):
    tomorrow's sending hour once today's has come, else today's, in the tenant's zone."""
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    today_at = sending_time(today, limits.sending_hour, zone)
    if now >= today_at:
        return True, sending_time(today + datetime.timedelta(days=1), limits.sending_hour, zone)
    return False, today_at


def tenants_due_for_reminders(now: datetime.datetime) -> list[int]:
    return list(due_tenants_query(now))


def due_tenants_query(now: datetime.datetime):
    """One query on the partial index reminder_settings_due: enabled settings whose next
    run has come or is unknown. Every tenant has a settings row from its creation on
    (dunning.tenant_setup; migration 0007 gave older tenants theirs), so the cost
    grows with the due tenants, not with all of them."""
    return (
        ReminderSettings.objects.filter(enabled=True)
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .order_by()
        .values_list("tenant_id", flat=True)
    )


def run_reminder_tick(
    *, now: datetime.datetime | None = None, dispatch: Callable[[int, datetime.datetime], None]
) -> int:
    """Beat's minute: find the tenants whose next run has come (or is unknown), and for
    each whose local sending hour has come, claim it and hand it to its own task
    (`dispatch(tenant_id, claim)`, which runs run_claimed_tenant). Tenants before their
    hour only learn when to look again. The tick's cost is a few queries plus one publish
    per due tenant: a tenant with 20,000 customers holds up nobody, and one that fails
    fails alone. Returns how many tenants it handed over."""
    now = now or timezone.now()
    tenant_ids = tenants_due_for_reminders(now)
    if not tenant_ids:
        return 0
    due = ReminderSettings.objects.filter(tenant_id__in=tenant_ids, enabled=True).filter(
        Q(next_run_at__isnull=True) | Q(next_run_at__lte=now)
    )
    ready, later = [], {}
    for limits in due.annotate(time_zone=F("tenant__time_zone")):
        hour_has_come, then = next_run(limits, now, time_zone=limits.time_zone)
        if hour_has_come:
            ready.append(limits.tenant_id)
        else:
            later[limits.tenant_id] = then
    for tenant_id, then in later.items():
        due.filter(tenant_id=tenant_id).update(next_run_at=then)
    if not ready:
        return 0
    # The claim: next_run_at out of reach of the next ticks while the task works (a big
    # tenant can outlast a minute), and when it is tried again if its worker dies.
    claim = now + CLAIM_FOR
    due.filter(tenant_id__in=ready).update(next_run_at=claim)
    claimed = list(
        ReminderSettings.objects.filter(tenant_id__in=ready, next_run_at=claim)
        .order_by("tenant_id")
        .values_list("tenant_id", flat=True)
    )
    for tenant_id in claimed:
        dispatch(tenant_id, claim)
    return len(claimed)


def run_claimed_tenant(tenant_id: int, *, claim: datetime.datetime) -> int:
    """A tenant's reminders for today, under the claim its tick took; then its next run.
    One that fails is logged with its id and tried again RETRY_AFTER later."""
    # Guarded by the claim: settings saved meanwhile reset next_run_at to NULL, which must
    # stay so that the next tick works it out from the new settings.
    mine = ReminderSettings.objects.filter(tenant_id=tenant_id, next_run_at=claim)
    limits = mine.select_related("tenant").first()
    if limits is None:
        return 0  # settings saved, or turned off, since the tick
    now = timezone.now()
    try:
        count = schedule_reminders(
            tenant=limits.tenant,
            today=limits.tenant.local_today(now),
            limits=limits,
        )
    except Exception:
        logger.exception(
            "Reminder scheduling failed; tried again in %s minutes",
            int(RETRY_AFTER.total_seconds() // 60),
            extra={"tenant_id": tenant_id, "outcome": "failed"},
        )
        mine.update(next_run_at=timezone.now() + RETRY_AFTER)
        return 0
    mine.update(next_run_at=next_run(limits, now, time_zone=limits.tenant.time_zone)[1])
    if count:
        logger.info(
            "Reminders queued",
            extra={"tenant_id": tenant_id, "outcome": "scheduled", "count": count},
        )
    return count


def refresh_reminders(
    batch: list[OutboundEmail],
    *,
    owner: str,
    on_error: Callable[[OutboundEmail, Exception], None],
) -> list[OutboundEmail]:
    """Just before sending: a reminder whose invoices were all paid, or whose customer's
    open credits now cover everything overdue, becomes Cancelled; one with some paid (or
    a currency now covered by credits) is re-rendered without them, with the credits as
    they stand now. Returns what is left to send; a reminder that cannot be re-rendered
    goes to `on_error` instead."""
    reminder_ids = [email.pk for email in batch if email.kind == Kind.REMINDER]
    if not reminder_ids:
        return batch
    links = OutboundEmail.invoices.through.objects.filter(
        outboundemail_id__in=reminder_ids
    ).select_related("invoice")
    invoices_of: dict[int, list[Invoice]] = defaultdict(list)
    for link in links:
        invoices_of[link.outboundemail_id].append(link.invoice)
    credits = credits_of(
        {email.customer_id for email in batch if email.kind == Kind.REMINDER and email.customer_id}
    )

    keep = []
    for email in batch:
        invoices = invoices_of.get(email.pk)
        if email.kind != Kind.REMINDER or not invoices:
            keep.append(email)
            continue
        try:
            if _refresh_reminder(email, invoices, credits.get(email.customer_id, []), owner=owner):
                keep.append(email)
        except Exception as error:
            on_error(email, error)
    return keep


def _refresh_reminder(
    email: OutboundEmail, invoices: list[Invoice], credits: list[Invoice], *, owner: str
) -> bool:
    """False when the reminder was cancelled (nothing in it is left to ask)."""
    still_open = [i for i in invoices if not i.paid and i.open_balance > 0]
    blocks = blocks_to_ask(still_open, credits)
    if not blocks:
        transitions.cancel(
            email.pk,
            owner=owner,
            reason="All its invoices were paid before it was sent."
            if not still_open
            else "Open credits covered its overdue invoices before it was sent.",
        )
        return False
    # Re-rendered every time: paid invoices and currencies the credits now cover drop
    # out, and part-payments and credits show as they stand now, not as they stood when
    # the reminder was queued.
    asked = [invoice for block in blocks for invoice in block.invoices]
    rendered = render_reminder(
        tenant=email.tenant,
        customer=email.customer,
        invoices=asked,
        credits=credits,
        today=email.reminder_date,
    )
    current = (rendered.subject, rendered.text, rendered.html)
    if current != (email.subject, email.body_text, email.body_html):
        email.subject, email.body_text, email.body_html = current
        OutboundEmail.objects.filter(pk=email.pk).update(
            subject=email.subject, body_text=email.body_text, body_html=email.body_html
        )
    if len(asked) < len(invoices):
        email.invoices.set(asked)
    return True
