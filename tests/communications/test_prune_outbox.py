"""prune_outbox: old Sent and Cancelled emails go, with their attempts and invoice links;
nothing else does, and the Dashboard's totals stay the same."""

from __future__ import annotations

import datetime
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from outbox.counts import dashboard_counts, rebuild_status_counts, sweep_uncounted
from outbox.delivery import deliver_due
from outbox.leases import claim_batch
from outbox.models import DeliveryAttempt, OutboundEmail, Status, StatusCount
from outbox.services import NewEmail, outbox_enqueue_many
from tests.communications.outbox_helpers import queue, use_smtp
from tests.page_data import make_customer, make_invoice

REFUSED = "nobody@client.example"
LONG_AGO = timedelta(days=3650)
Links = OutboundEmail.invoices.through


def shown(tenant) -> dict[str, int]:
    counts = dashboard_counts(tenant, since=timezone.now() - LONG_AGO)
    return {status: n for status, n in counts.items() if n}


def prune(*args: str) -> str:
    out = StringIO()
    call_command("prune_outbox", *args, stdout=out)
    return out.getvalue()


def enqueue_with_invoice(tenant, customer, number: str, *, to: str = "ap@initech.example"):
    invoice = make_invoice(customer, number, due_on=datetime.date(2024, 1, 1))
    (email,) = outbox_enqueue_many(
        tenant=tenant,
        kick=False,
        emails=[
            NewEmail(to=[to], subject=f"Invoice {number}", text="Please pay.", invoices=[invoice])
        ],
    )
    return email


@pytest.fixture
def history(tenant_a, tenant_b, smtp_server_factory):
    """Tenant A: 500-day-old mail in every status (with attempts and invoice links) and
    mail from this week; tenant B: mail from this week."""
    server = smtp_server_factory(mode="starttls", refuse_rcpt={REFUSED})
    use_smtp(tenant_a, server.port)
    use_smtp(tenant_b, server.port)
    initech = make_customer(tenant_a, "Initech")
    with time_machine.travel(timezone.now() - timedelta(days=500)):
        old_sent = [enqueue_with_invoice(tenant_a, initech, f"OLD-{n}") for n in range(3)]
        old_error = enqueue_with_invoice(tenant_a, initech, "OLD-E", to=REFUSED)
    deliver_due(tenant_id=tenant_a.pk)  # sent now, created 500 days ago
    with time_machine.travel(timezone.now() - timedelta(days=450)):
        old_cancelled = queue(tenant_a, 2, kick=False)
        old_queued = queue(tenant_a, 1, kick=False)
        old_sending = queue(tenant_a, 1, kick=False)
    OutboundEmail.objects.filter(pk__in=[e.pk for e in old_cancelled]).update(
        status=Status.CANCELLED
    )
    sweep_uncounted()
    # Backing off (not due), and held by a worker right now.
    OutboundEmail.objects.filter(pk=old_queued[0].pk).update(
        next_attempt_at=timezone.now() + timedelta(days=1)
    )
    claim_batch(tenant_id=tenant_a.pk, owner="busy-worker", limit=10)

    new_sent = queue(tenant_a, 2, kick=False)
    queue(tenant_b, 3, kick=False)
    deliver_due(tenant_id=tenant_b.pk)
    deliver_due(tenant_id=tenant_a.pk)  # the new ones (old_queued waits: not due)
    sweep_uncounted()
    return {
        "old_sent": old_sent,
        "old_error": old_error,
        "old_cancelled": old_cancelled,
        "old_queued": old_queued[0],
        "old_sending": old_sending[0],
        "new_sent": new_sent,
    }


def status_of(email) -> str | None:
    row = OutboundEmail.objects.filter(pk=email.pk).first()
    return row.status if row else None


def test_it_deletes_only_old_sent_and_cancelled_mail_and_says_how_many(tenant_a, history):
    assert status_of(history["old_sending"]) == Status.SENDING
    assert status_of(history["old_queued"]) == Status.QUEUED

    assert "Deleted 5 Sent or Cancelled email(s)" in prune("--older-than", "400")

    for email in [*history["old_sent"], *history["old_cancelled"]]:
        assert status_of(email) is None
    assert status_of(history["old_error"]) == Status.ERROR
    assert status_of(history["old_queued"]) == Status.QUEUED
    assert status_of(history["old_sending"]) == Status.SENDING
    assert [status_of(e) for e in history["new_sent"]] == [Status.SENT, Status.SENT]
    assert "Deleted 0 " in prune("--older-than", "400")  # nothing left to do


def test_the_dashboard_shows_the_same_numbers_after_a_prune(tenant_a, tenant_b, history):
    before_a, before_b = shown(tenant_a), shown(tenant_b)
    week_before = dashboard_counts(tenant_a, since=timezone.now() - timedelta(days=7))
    b_rows = list(StatusCount.objects.filter(tenant=tenant_b).values_list())
    assert before_a == {"sent": 5, "cancelled": 2, "error": 1, "queued": 1, "sending": 1}

    prune("--older-than", "400")

    assert shown(tenant_a) == before_a
    assert dashboard_counts(tenant_a, since=timezone.now() - timedelta(days=7)) == week_before
    assert shown(tenant_b) == before_b
    assert list(StatusCount.objects.filter(tenant=tenant_b).values_list()) == b_rows
    pruned = Counter()
    for status, n in StatusCount.objects.filter(tenant=tenant_a).values_list("status", "pruned"):
        pruned[status] += n
    assert +pruned == {"sent": 3, "cancelled": 2}
    # A rebuild recounts the rows that are left and keeps what was pruned.
    rebuild_status_counts(tenant_a.pk)
    assert shown(tenant_a) == before_a


def test_it_deletes_the_attempts_and_invoice_links_of_what_it_deletes(tenant_a, history):
    old_ids = [e.pk for e in history["old_sent"]]
    kept_ids = [history["old_error"].pk, *[e.pk for e in history["new_sent"]]]
    assert DeliveryAttempt.objects.filter(email_id__in=old_ids).count() == 3
    assert Links.objects.filter(outboundemail_id__in=old_ids).count() == 3
    kept_attempts = DeliveryAttempt.objects.filter(email_id__in=kept_ids).count()

    prune("--older-than", "400")

    assert not DeliveryAttempt.objects.filter(email_id__in=old_ids).exists()
    assert not Links.objects.filter(outboundemail_id__in=old_ids).exists()
    assert Links.objects.filter(outboundemail_id=history["old_error"].pk).count() == 1
    assert DeliveryAttempt.objects.filter(email_id__in=kept_ids).count() == kept_attempts


def test_mail_newer_than_the_cutoff_stays(tenant_a, history):
    assert "Deleted 0 " in prune("--older-than", "501")
    assert "Deleted 3 " in prune("--older-than", "460")  # the sent ones, 500 days old
    assert all(status_of(e) == Status.CANCELLED for e in history["old_cancelled"])  # 450


def test_a_row_not_counted_in_its_status_yet_waits_for_the_next_prune(tenant_a, history):
    first = history["old_sent"][0]
    OutboundEmail.objects.filter(pk=first.pk).update(status=Status.CANCELLED)  # no sweep yet
    before = shown(tenant_a)

    prune("--older-than", "400")
    assert status_of(first) == Status.CANCELLED
    assert shown(tenant_a) == before

    sweep_uncounted()
    assert "Deleted 1 " in prune("--older-than", "400")
    assert shown(tenant_a) == before


def test_it_works_in_batches(tenant_a, history):
    assert "Deleted 5 " in prune("--older-than", "400", "--batch-size", "2")
    assert not OutboundEmail.objects.filter(pk__in=[e.pk for e in history["old_sent"]]).exists()


@pytest.mark.parametrize("days", ["0", "-3", "abc", "1.5"])
def test_the_age_must_be_a_whole_number_of_days_from_one(db, days):
    with pytest.raises(CommandError, match="--older-than"):
        prune("--older-than", days)


def test_the_age_is_required(db):
    with pytest.raises(CommandError, match="--older-than"):
        prune()
