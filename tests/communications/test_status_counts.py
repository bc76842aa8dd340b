"""The Dashboard's status counts: an hourly rollup kept exact by each write path, the
sweep, and rebuild; read without scanning history."""

from __future__ import annotations

import datetime
import logging
import uuid
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from outbox import delivery, tasks
from outbox.counts import (
    count_changes,
    daily_counts,
    dashboard_counts,
    rebuild_status_counts,
    sweep_uncounted,
)
from outbox.delivery import _message_for, deliver_due
from outbox.leases import claim_batch, mark_sending_started
from outbox.models import OutboundEmail, Status, StatusCount
from outbox.outcomes import record_sent
from outbox.services import outbox_resend
from routes.choice import route_for
from routes.config import identity_for
from routes.models import OutgoingEmailSettings
from tests.communications.outbox_helpers import queue, reload, use_smtp
from tests.page_data import make_email

UTC = datetime.UTC
REFUSED = "nobody@client.example"
LONG_AGO = timedelta(days=3650)


def rollup(tenant) -> dict[str, int]:
    """The rollup's `count` per status, summed over hours (no reader's correction)."""
    counts = Counter()
    for status, count in StatusCount.objects.filter(tenant=tenant).values_list("status", "count"):
        counts[status] += count
    return {status: n for status, n in counts.items() if n}


def truth(tenant) -> dict[str, int]:
    return dict(
        Counter(OutboundEmail.objects.filter(tenant=tenant).values_list("status", flat=True))
    )


def uncounted(tenant) -> int:
    return sum(
        1
        for status, counted in OutboundEmail.objects.filter(tenant=tenant).values_list(
            "status", "counted_status"
        )
        if status != counted
    )


def assert_exact(tenant) -> None:
    assert uncounted(tenant) == 0
    assert rollup(tenant) == truth(tenant)


def hourly(tenant) -> dict[tuple[datetime.datetime, str], tuple[int, int]]:
    return {
        (hour, status): (count, pruned)
        for hour, status, count, pruned in StatusCount.objects.filter(tenant=tenant)
        .exclude(count=0, pruned=0)
        .values_list("hour", "status", "count", "pruned")
    }


def shown(tenant) -> dict[str, int]:
    """What the Dashboard shows over the whole history, zeros left out."""
    counts = dashboard_counts(tenant, since=timezone.now() - LONG_AGO)
    return {status: n for status, n in counts.items() if n}


def expire_leases() -> None:
    OutboundEmail.objects.filter(status=Status.SENDING).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def upserts(queries) -> int:
    return sum(
        1 for q in queries if "communications_statuscount" in q["sql"] and "INSERT" in q["sql"]
    )


# --- each write path -------------------------------------------------------------------


def test_enqueued_mail_is_counted_as_queued_at_once(tenant_a):
    queue(tenant_a, 3, kick=False)
    assert_exact(tenant_a)
    assert rollup(tenant_a) == {"queued": 3}


def test_a_delivered_batch_is_counted_as_sent_with_one_flush(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    queue(tenant_a, 5, kick=False)
    with CaptureQueriesContext(connection) as queries:
        assert deliver_due(tenant_id=tenant_a.pk) == 5
    assert upserts(queries) == 1  # one per batch, not one per message
    assert_exact(tenant_a)
    assert rollup(tenant_a) == {"sent": 5}


def test_errors_and_retries_are_counted(tenant_a, smtp_server_factory):
    server = smtp_server_factory(mode="starttls", refuse_rcpt={REFUSED})
    use_smtp(tenant_a, server.port)
    queue(tenant_a, 2, kick=False)
    queue(tenant_a, 1, to=REFUSED, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 2
    assert_exact(tenant_a)
    assert rollup(tenant_a) == {"sent": 2, "error": 1}


def test_a_temporary_failure_stays_counted_as_queued(tenant_a, raw_server_factory, test_ca):
    server = raw_server_factory("scripted", ca=test_ca, script={"rcpt": "451 4.2.0 Mailbox busy"})
    use_smtp(tenant_a, server.port)
    queue(tenant_a, 2, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 0
    assert_exact(tenant_a)
    assert rollup(tenant_a) == {"queued": 2}


def test_resend_moves_the_count_from_error_back_to_queued(tenant_a, smtp_server_factory):
    server = smtp_server_factory(mode="starttls", refuse_rcpt={REFUSED})
    use_smtp(tenant_a, server.port)
    (email,) = queue(tenant_a, 1, to=REFUSED, kick=False)
    deliver_due(tenant_id=tenant_a.pk)
    assert rollup(tenant_a) == {"error": 1}

    assert outbox_resend(email=reload([email])[0]).ok
    assert_exact(tenant_a)
    assert rollup(tenant_a) == {"queued": 1}


def test_a_sent_message_is_counted_by_its_claim_and_never_written_again_for_it(
    tenant_a, starttls_server
):
    use_smtp(tenant_a, starttls_server.port)
    queue(tenant_a, 3, kick=False)
    with CaptureQueriesContext(connection) as queries:
        assert deliver_due(tenant_id=tenant_a.pk) == 3
    writes = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith("UPDATE")
        and "counted_status" in query["sql"].split("WHERE")[0]
    ]
    assert len(writes) == 1 and "'sending'" in writes[0].lower()  # the claim's own UPDATE
    assert_exact(tenant_a)
    assert rollup(tenant_a) == {"sent": 3}


def test_the_reaper_counts_what_it_took_back_from_a_dead_worker(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    queue(tenant_a, 3, kick=False)
    batch = claim_batch(tenant_id=tenant_a.pk, owner="dying-worker", limit=10)
    mark_sending_started(owner="dying-worker")
    config = OutgoingEmailSettings.objects.get(tenant=tenant_a)
    with route_for(config, timeout=2) as route:
        route.send(_message_for(batch[0], identity_for(config)))
        record_sent(batch[0], owner="dying-worker")
        # ...killed (SIGKILL) after recording the first outcome: no flush.
    # The claim counted the batch as Sent ahead of the sends; the first needs no write.
    assert rollup(tenant_a) == {"sent": 3}
    assert uncounted(tenant_a) == 2
    # The Dashboard is right meanwhile: it adds the rows not counted yet.
    assert shown(tenant_a) == {"sent": 1, "sending": 2}

    expire_leases()
    assert tasks.reap_expired_leases() == 1
    assert_exact(tenant_a)
    # The first one sent; the one in flight interrupted; the last back to the queue.
    assert rollup(tenant_a) == {"sent": 1, "error": 1, "queued": 1}


def test_the_sweep_counts_rows_changed_behind_its_back(tenant_a, tenant_b):
    emails = queue(tenant_a, 3, kick=False)
    queue(tenant_b, 2, kick=False)
    OutboundEmail.objects.filter(pk=emails[0].pk).update(status=Status.CANCELLED)
    OutboundEmail.objects.filter(pk=emails[1].pk).update(status=Status.ERROR)
    assert rollup(tenant_a) == {"queued": 3}
    assert shown(tenant_a) == {"queued": 1, "cancelled": 1, "error": 1}

    assert tasks.sweep_status_counts() == 2
    assert_exact(tenant_a)
    assert rollup(tenant_a) == {"queued": 1, "cancelled": 1, "error": 1}
    assert rollup(tenant_b) == {"queued": 2}
    assert sweep_uncounted() == 0  # nothing left


def test_rows_inserted_with_plain_sql_are_counted_by_the_sweep(tenant_a):
    now = timezone.now()
    table = OutboundEmail._meta.db_table
    with connection.cursor() as cursor:
        # No counted_status: its database default ("") applies.
        cursor.execute(
            f"""INSERT INTO {table} (tenant_id, kind, to_addresses, cc_addresses, subject,
                body_text, body_html, message_id, status, tries, next_attempt_at, lease_owner,
                send_started, claims, error_code, error_message, smtp_reply, created_at,
                updated_at)
            VALUES (%s, 'manual', '["a@client.example"]', '[]', 'Imported', '', '', %s,
                'sent', 1, %s, '', %s, 0, '', '', '', %s, %s)""",
            [
                tenant_a.pk,
                f"<{uuid.uuid4().hex}@acme.example>",
                connection.ops.adapt_datetimefield_value(now),
                False,
                connection.ops.adapt_datetimefield_value(now),
                connection.ops.adapt_datetimefield_value(now),
            ],
        )
    make_email(tenant_a, status=Status.ERROR)  # the ORM's default alike
    assert OutboundEmail.objects.filter(counted_status="").count() == 2
    assert shown(tenant_a) == {"sent": 1, "error": 1}

    assert sweep_uncounted() == 2
    assert_exact(tenant_a)
    assert shown(tenant_a) == {"sent": 1, "error": 1}


def test_a_failed_flush_is_logged_and_the_sweep_catches_up(
    tenant_a, smtp_server_factory, monkeypatch, caplog
):
    server = smtp_server_factory(mode="starttls", refuse_rcpt={REFUSED})
    use_smtp(tenant_a, server.port)
    queue(tenant_a, 2, kick=False)
    queue(tenant_a, 1, to=REFUSED, kick=False)

    def database_down(**kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(delivery, "count_changes", database_down)
    with caplog.at_level(logging.ERROR, logger="outbox.delivery"):
        assert deliver_due(tenant_id=tenant_a.pk) == 2  # the mail went out all the same
    assert "batch not counted" in caplog.text
    # Counted as Sent at the claim; the refused one waits for a flush that failed.
    assert rollup(tenant_a) == {"sent": 3}
    assert shown(tenant_a) == {"sent": 2, "error": 1}

    sweep_uncounted()
    assert_exact(tenant_a)
    assert rollup(tenant_a) == {"sent": 2, "error": 1}


def test_counting_twice_changes_nothing(tenant_a):
    emails = queue(tenant_a, 2, kick=False)
    OutboundEmail.objects.filter(pk=emails[0].pk).update(status=Status.SENT)
    assert count_changes(tenant_id=tenant_a.pk, ids=[e.pk for e in emails]) == 1
    assert count_changes(tenant_id=tenant_a.pk, ids=[e.pk for e in emails]) == 0
    assert count_changes(tenant_id=tenant_a.pk) == 0
    assert rollup(tenant_a) == {"sent": 1, "queued": 1}


# --- rebuild -------------------------------------------------------------------------


def mixed_history(tenant, server) -> None:
    """Mail enqueued over several hours and days, sent, failed, resent and changed."""
    start = timezone.now() - timedelta(days=3)
    for hours, count, to in (
        (0, 3, "a@client.example"),
        (5, 2, REFUSED),
        (30, 4, "b@client.example"),
    ):
        with time_machine.travel(start + timedelta(hours=hours, minutes=17)):
            queue(tenant, count, to=to, kick=False)
    deliver_due(tenant_id=tenant.pk)
    failed = OutboundEmail.objects.filter(tenant=tenant, status=Status.ERROR).first()
    outbox_resend(email=failed)
    queue(tenant, 2, kick=False)
    some = OutboundEmail.objects.filter(tenant=tenant, status=Status.QUEUED).order_by("id")[:1]
    OutboundEmail.objects.filter(pk__in=list(some.values_list("pk", flat=True))).update(
        status=Status.CANCELLED
    )
    sweep_uncounted()


def test_rebuild_gives_the_incremental_counts_and_is_idempotent(
    tenant_a, tenant_b, smtp_server_factory
):
    server = smtp_server_factory(mode="starttls", refuse_rcpt={REFUSED})
    use_smtp(tenant_a, server.port)
    mixed_history(tenant_a, server)
    queue(tenant_b, 2, kick=False)
    incremental = hourly(tenant_a)
    assert len({hour for hour, _ in incremental}) >= 4  # several hours, several statuses
    assert_exact(tenant_a)
    b_before = hourly(tenant_b)

    rebuild_status_counts(tenant_a.pk)
    assert hourly(tenant_a) == incremental
    rebuild_status_counts(tenant_a.pk)
    assert hourly(tenant_a) == incremental
    assert hourly(tenant_b) == b_before


def test_rebuild_repairs_a_damaged_rollup_and_counts_uncounted_rows(tenant_a):
    queue(tenant_a, 3, kick=False)
    make_email(tenant_a, status=Status.SENT)  # not counted yet
    right = {"queued": 3, "sent": 1}
    StatusCount.objects.filter(tenant=tenant_a).update(count=42)
    StatusCount.objects.create(
        tenant=tenant_a, hour=datetime.datetime(2020, 1, 1, tzinfo=UTC), status="error", count=7
    )

    rebuild_status_counts(tenant_a.pk)
    assert_exact(tenant_a)
    assert rollup(tenant_a) == right
    assert shown(tenant_a) == right


def test_rebuild_keeps_pruned_counts(tenant_a):
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=500)
    StatusCount.objects.create(tenant=tenant_a, hour=hour, status="sent", count=0, pruned=9)
    queue(tenant_a, 1, kick=False)
    rebuild_status_counts(tenant_a.pk)
    assert shown(tenant_a) == {"sent": 9, "queued": 1}


# --- reads ---------------------------------------------------------------------------


def test_dashboard_counts_only_the_window_and_every_status_is_a_key(tenant_a, tenant_b):
    with time_machine.travel(timezone.now() - timedelta(days=8)):
        queue(tenant_a, 2, kick=False)
    queue(tenant_a, 1, kick=False)
    queue(tenant_b, 5, kick=False)
    counts = dashboard_counts(tenant_a, since=timezone.now() - timedelta(days=7))
    assert counts == {"queued": 1, "sending": 0, "sent": 0, "error": 0, "cancelled": 0}


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def enqueue_at(tenant, moment: str, count: int = 1) -> None:
    with time_machine.travel(at(moment), tick=False):
        queue(tenant, count, kick=False)


def per_day(rows) -> list[tuple[str, int]]:
    return [(day.isoformat(), sum(counts.values())) for day, counts in rows]


def test_daily_counts_form_los_angeles_days_from_utc_hours(tenant_a):
    enqueue_at(tenant_a, "2026-06-09T06:59:00+00:00")  # 23:59 on the 8th in Los Angeles
    enqueue_at(tenant_a, "2026-06-10T06:30:00+00:00", 2)  # 23:30 on the 9th
    enqueue_at(tenant_a, "2026-06-10T07:05:00+00:00", 3)  # 00:05 on the 10th
    with time_machine.travel(at("2026-06-10T20:00:00+00:00"), tick=False):
        rows = daily_counts(tenant_a, days=2, time_zone="America/Los_Angeles")
    assert per_day(rows) == [("2026-06-09", 2), ("2026-06-10", 3)]
    assert rows[1][1] == {"queued": 3, "sending": 0, "sent": 0, "error": 0, "cancelled": 0}


def test_daily_counts_across_a_daylight_saving_change(tenant_a):
    # 8 March 2026: Los Angeles goes from UTC-8 to UTC-7 at 02:00 local (a 23-hour day).
    enqueue_at(tenant_a, "2026-03-08T07:59:00+00:00")  # 23:59 PST on the 7th
    enqueue_at(tenant_a, "2026-03-08T08:00:00+00:00")  # 00:00 PST on the 8th
    enqueue_at(tenant_a, "2026-03-09T06:59:00+00:00")  # 23:59 PDT on the 8th
    enqueue_at(tenant_a, "2026-03-09T07:00:00+00:00")  # 00:00 PDT on the 9th
    with time_machine.travel(at("2026-03-09T20:00:00+00:00"), tick=False):
        rows = daily_counts(tenant_a, days=3, time_zone="America/Los_Angeles")
    assert per_day(rows) == [("2026-03-07", 1), ("2026-03-08", 2), ("2026-03-09", 1)]


def test_daily_counts_give_a_kolkata_hour_that_straddles_midnight_to_the_day_it_starts(
    tenant_a,
):
    # Kolkata is UTC+05:30: the UTC hour 18:00-19:00 is 23:30-00:30 local.
    enqueue_at(tenant_a, "2026-03-08T18:50:00+00:00")  # 00:20 on the 9th, hour starts on the 8th
    enqueue_at(tenant_a, "2026-03-09T18:10:00+00:00", 2)  # 23:40 on the 9th
    enqueue_at(tenant_a, "2026-03-09T18:45:00+00:00", 3)  # 00:15 on the 10th: counted on the 9th
    enqueue_at(tenant_a, "2026-03-09T19:10:00+00:00", 4)  # 00:40 on the 10th
    # One more not counted yet (changed behind the rollup's back): the same rule applies.
    with time_machine.travel(at("2026-03-10T01:00:00+00:00"), tick=False):
        make_email(tenant_a, status=Status.ERROR)  # 06:30 on the 10th
    with time_machine.travel(at("2026-03-10T06:30:00+00:00"), tick=False):
        rows = daily_counts(tenant_a, days=2, time_zone="Asia/Kolkata")
    assert per_day(rows) == [("2026-03-09", 5), ("2026-03-10", 5)]
    assert rows[1][1]["error"] == 1 and rows[1][1]["queued"] == 4


@pytest.mark.parametrize("emails", [5, 200])
def test_the_dashboard_reads_the_same_number_of_queries_whatever_the_history(
    admin_client_a, tenant_a, emails, django_assert_max_num_queries
):
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        queue(tenant_a, emails // 2, kick=False)
    queue(tenant_a, emails - emails // 2, kick=False)
    for email in OutboundEmail.objects.filter(tenant=tenant_a)[:3]:
        OutboundEmail.objects.filter(pk=email.pk).update(status=Status.ERROR)
    admin_client_a.get("/")  # warm: sessions, settings rows

    # Session, user, settings, the week's counts, the 30 days' chart, the aging rollups.
    with django_assert_max_num_queries(9):
        response = admin_client_a.get("/")
    counts = {value: count for value, _label, count in response.context["counts"]}
    assert counts["queued"] == emails - 3 and counts["error"] == 3
