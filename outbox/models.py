"""The outbox: every email the product queues, each try to deliver it, and the counts."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import BooleanField, F, Func, Q

from yaypay_mail.models import Customer, Invoice, Tenant


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    ERROR = "error", "Error"
    CANCELLED = "cancelled", "Cancelled"


class Kind(models.TextChoices):
    REMINDER = "reminder", "Payment reminder"
    MANUAL = "manual", "Manual"


class IsTrue(Func):
    """`(condition) IS TRUE`. PostgreSQL cannot estimate how many rows match a comparison
    of two columns (`counted_status <> status`: it guesses 99.5 %) and would scan the
    table; wrapped this way the test is estimated from the statistics that migration
    0005 creates on the comparison (a handful of rows), so the partial index is used."""

    template = "(%(expressions)s) IS TRUE"
    output_field = BooleanField()


# Rows whose status the Dashboard's rollup (StatusCount) does not count yet: the
# condition of the partial index outbox_uncounted. Queries must use exactly this Q for
# the index to serve them (outbox.counts).
UNCOUNTED = Q(IsTrue(~Q(counted_status=F("status"))))


def count_recipients(to: list | None, cc: list | None) -> int:
    """To + Cc: what MAX_RECIPIENTS and the per-day limit count."""
    return len(to or ()) + len(cc or ())


class OutboundEmail(models.Model):
    # No single-column indexes on these keys: the composite indexes below start with them,
    # and every index costs a write on each status change.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="outbound_emails", db_index=False
    )
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emails",
        db_index=False,
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MANUAL)
    # For reminders: the tenant-local day it was scheduled for (one per customer and day).
    reminder_date = models.DateField(null=True, blank=True)
    invoices = models.ManyToManyField(Invoice, blank=True, related_name="reminders")

    to_addresses = models.JSONField(default=list)
    cc_addresses = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # Fixed at enqueue and kept across tries, so a recipient's mail client can tell a
    # repeat from a new email.
    message_id = models.CharField(max_length=250, unique=True)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # The status the Dashboard's rollup (StatusCount) counts this row under; "" = not
    # counted yet. Differs from `status` only until outbox.counts catches up
    # (a batch's flush, or the sweep for rows changed anywhere else).
    counted_status = models.CharField(max_length=10, blank=True, default="", db_default="")
    tries = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Which message was in flight when a worker died, at no extra write per message: a
    # worker sends its batch in id order and records each outcome as it goes, so under
    # an expired lease only the lowest-id message still "sending" may have been sent,
    # and only if the batch had begun sending (send_started, set on the whole batch by
    # one UPDATE just before its first send).
    send_started = models.BooleanField(default=False)
    # Claims since the last outcome: a message whose worker keeps dying (OOM, time
    # limits) ends as Error after MAX_CLAIMS instead of looping through the reaper.
    claims = models.PositiveSmallIntegerField(default=0)

    sent_at = models.DateTimeField(null=True, blank=True)
    # The route of the last try (settings_app.models.UseServer: gateway, smtp, ...), so a
    # Sent email says who accepted it even after the tenant changes its settings.
    route = models.CharField(max_length=16, blank=True, default="", db_default="")
    # The id the provider's API gave the sent message (Gmail's message id; Gmail may
    # rewrite the Message-ID header, so ours alone may not find it there).
    provider_message_id = models.CharField(max_length=100, blank=True, default="", db_default="")
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    smtp_code = models.IntegerField(null=True, blank=True)
    smtp_reply = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "communications_outboundemail"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "reminder_date"],
                condition=Q(kind="reminder"),
                name="one_reminder_per_customer_and_day",
            ),
        ]
        indexes = [
            # The drain and the claim: a tenant's queued mail that is due.
            models.Index(
                fields=["tenant", "next_attempt_at"],
                condition=Q(status="queued"),
                name="outbox_due",
            ),
            # The reaper: leases that may have expired.
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status="sending"),
                name="outbox_leased",
            ),
            # The lists, each read newest first by (created_at, id) from its cursor on
            # (communications/paging.py): one index per list's WHERE + ORDER BY, and no
            # more, since a status change is never a HOT update (status is indexed) and so
            # writes an entry in every index of the table.
            # Communications with no filter or only q=; the tenant's rows on delete.
            models.Index(fields=["tenant", "-created_at", "-id"], name="outbox_tenant_created"),
            # Communications ?status=; the Dashboard's recent errors (its (tenant, status)
            # prefix); prune_outbox, oldest first. Replaces outbox_tenant_status.
            models.Index(
                fields=["tenant", "status", "-created_at", "-id"],
                name="outbox_tenant_status_created",
            ),
            # A Statement's EMAILS tab and Communications ?customer=; SET NULL on a
            # customer's delete (its (customer) prefix). Replaces outbox_customer.
            models.Index(fields=["customer", "-created_at", "-id"], name="outbox_customer_created"),
            # The status-count sweep and every count flush (outbox.counts): rows
            # whose status the rollup does not count yet. Small: a row leaves it once
            # counted. Built concurrently on PostgreSQL by migration 0005.
            models.Index(
                fields=["tenant"],
                condition=UNCOUNTED,
                name="outbox_uncounted",
            ),
            # q= search: the trigram index outbox_search_trgm exists on PostgreSQL only and
            # is made by migration 0004, outside this list (see docs/performance.md).
            # ?kind=: outbox_tenant_kind_created (tenant, kind, -created_at, -id) is made
            # concurrently by migration 0009, outside this list too.
        ]

    def __str__(self) -> str:
        return f"{self.subject} to {', '.join(self.to_addresses)}"

    @property
    def recipients_display(self) -> str:
        return ", ".join([*self.to_addresses, *self.cc_addresses])

    @property
    def recipient_count(self) -> int:
        return count_recipients(self.to_addresses, self.cc_addresses)


class StatusCount(models.Model):
    """The Dashboard's rollup: a tenant's emails per UTC hour of creation and status.

    `count`: emails that still exist, created in that hour and counted (counted_status)
    in that status. `pruned`: emails of that hour and status deleted by prune_outbox,
    kept so that totals stay the same after a prune. Pages show count + pruned. Written
    only by outbox.counts and outbox.retention."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="status_counts", db_index=False
    )
    hour = models.DateTimeField()  # UTC, truncated to the hour
    status = models.CharField(max_length=10, choices=Status.choices)
    count = models.BigIntegerField(default=0, db_default=0)
    pruned = models.BigIntegerField(default=0, db_default=0)

    class Meta:
        db_table = "communications_statuscount"
        constraints = [
            # Also the index every read and upsert uses (its (tenant, hour) prefix).
            models.UniqueConstraint(
                fields=["tenant", "hour", "status"], name="status_count_per_hour"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.status}: {self.count} (+{self.pruned} pruned)"


class Outcome(models.TextChoices):
    SENT = "sent", "Sent"
    RETRY = "retry", "Temporary failure, will retry"
    ERROR = "error", "Error"
    INTERRUPTED = "interrupted", "Interrupted"


class DeliveryAttempt(models.Model):
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="delivery_attempts", db_index=False
    )
    email = models.ForeignKey(OutboundEmail, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    stage = models.CharField(max_length=20, blank=True)
    smtp_code = models.IntegerField(null=True, blank=True)
    reply = models.TextField(blank=True)
    worker = models.CharField(max_length=100, blank=True)
    # What this try went out as: the email's page shows these, not today's settings.
    route = models.CharField(max_length=16, blank=True, default="", db_default="")
    from_header = models.CharField(max_length=400, blank=True, default="", db_default="")
    reply_to = models.CharField(max_length=320, blank=True, default="", db_default="")
    # To + Cc of this try: the per-day limit counts recipients, not messages.
    recipients = models.PositiveIntegerField(default=1, db_default=1)

    class Meta:
        db_table = "communications_deliveryattempt"
        ordering = ["at", "id"]
        indexes = [
            # Sending limits count a tenant's tries in the last minute and day.
            models.Index(fields=["tenant", "at"], name="attempt_tenant_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} at {self.at:%Y-%m-%d %H:%M:%S}"


class SendingLimits(models.Model):
    """How fast a tenant's mail may go out: the claim locks this row, so two workers never
    spend the same allowance. Edited on Settings | Reminders; the day is the tenant's
    (Tenant.time_zone)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="sending_limits")
    # The defaults fit Microsoft 365 (30 a minute) and Gmail (2,000 a day).
    per_minute_limit = models.PositiveIntegerField(
        "Emails per minute",
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
    )
    # Counts recipients (To + Cc), as Microsoft 365's 10,000 a day does.
    per_day_limit = models.PositiveIntegerField(
        "Recipients per day (To + Cc)",
        default=2000,
        validators=[MinValueValidator(1), MaxValueValidator(10_000_000)],
    )
    # Beat's drain skips the tenant until then: its sending limits are used up
    # (outbox.limits.check_allowance says when they free); a claim that finds room
    # again clears it.
    held_until = models.DateTimeField(null=True, blank=True, db_default=None)

    class Meta:
        verbose_name_plural = "sending limits"

    def __str__(self) -> str:
        return f"Sending limits of {self.tenant}"
