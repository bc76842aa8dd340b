"""Beat's minute costs what is due, not how many tenants or emails exist: the drain skips
tenants held back by their sending limits, the reminder tick reads only the tenants whose
sending hour has come (each on its own), and scheduling a tenant's reminders takes a
fixed number of queries per chunk of customers."""

from __future__ import annotations

import datetime
import json
import logging
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import dunning.reminders as reminders
from dunning.models import ReminderSettings
from dunning.reminders import next_run, run_reminder_tick, schedule_reminders
from dunning.tasks import schedule_daily_reminders
from outbox.delivery import deliver_due
from outbox.leases import claim_batch, tenants_to_drain
from outbox.models import DeliveryAttempt, Kind, OutboundEmail, SendingLimits, Status
from outbox.tasks import drain_due_mail
from tests.communications.outbox_helpers import queue
from yaypay_mail.models import Customer, Invoice, Tenant

UTC = datetime.UTC
TODAY = datetime.date(2026, 11, 25)
NOON = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def kicked(monkeypatch):
    """The tenants the drain asked a worker for (no broker, no delivery)."""
    calls: list[int] = []
    monkeypatch.setattr(
        "outbox.tasks.kick_delivery",
        lambda *, tenant_id, queued=1: calls.append(tenant_id),
    )
    return calls


SENDING_LIMITS = {"per_minute_limit", "per_day_limit", "held_until"}


def set_limits(tenant, **fields) -> None:
    """The reminder settings, the sending limits and the tenant's zone, by field name."""
    if "time_zone" in fields:
        tenant.time_zone = fields.pop("time_zone")
        tenant.save(update_fields=["time_zone"])
    SendingLimits.objects.filter(tenant=tenant).update(
        **{name: value for name, value in fields.items() if name in SENDING_LIMITS}
    )
    rest = {name: value for name, value in fields.items() if name not in SENDING_LIMITS}
    if rest:
        ReminderSettings.objects.filter(tenant=tenant).update(**rest)


def attempt(tenant, email, at) -> DeliveryAttempt:
    return DeliveryAttempt.objects.create(tenant=tenant, email=email, at=at, outcome="sent")


def held_until(tenant):
    return SendingLimits.objects.get(tenant=tenant).held_until


# --- the minute drain and held tenants ------------------------------------------------------


def test_the_drain_kicks_tenants_with_due_mail_and_skips_held_ones(tenant_a, tenant_b, kicked):
    queue(tenant_a, 2, kick=False)
    queue(tenant_b, 1, kick=False)
    set_limits(tenant_b, held_until=timezone.now() + datetime.timedelta(minutes=5))
    assert drain_due_mail() == 1
    assert kicked == [tenant_a.pk]
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=6), tick=False):
        kicked.clear()
        assert drain_due_mail() == 2
        assert sorted(kicked) == sorted([tenant_a.pk, tenant_b.pk])


def test_the_drain_finds_due_tenants_in_two_queries_whatever_their_number(
    tenant_a, tenant_b, django_assert_max_num_queries
):
    queue(tenant_a, 3, kick=False)
    queue(tenant_b, 1, kick=False)
    OutboundEmail.objects.filter(tenant=tenant_b).update(
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=5)  # backed off
    )
    with django_assert_max_num_queries(2):
        assert tenants_to_drain(now=timezone.now()) == [tenant_a.pk]


def test_a_claim_over_the_per_minute_limit_holds_the_tenant_until_a_try_leaves_the_window(
    tenant_a,
):
    set_limits(tenant_a, per_minute_limit=2)
    sent, waiting = queue(tenant_a, 2, kick=False)
    with time_machine.travel(NOON, tick=False) as clock:
        attempt(tenant_a, sent, NOON - datetime.timedelta(seconds=50))
        attempt(tenant_a, sent, NOON - datetime.timedelta(seconds=10))
        OutboundEmail.objects.update(next_attempt_at=NOON)
        assert claim_batch(tenant_id=tenant_a.pk, owner="w1", limit=10) == []
        assert held_until(tenant_a) == NOON + datetime.timedelta(seconds=10)
        assert tenants_to_drain(now=timezone.now()) == []
        clock.shift(datetime.timedelta(seconds=11))
        assert tenants_to_drain(now=timezone.now()) == [tenant_a.pk]
        batch = claim_batch(tenant_id=tenant_a.pk, owner="w1", limit=1)
        assert [email.pk for email in batch] == [sent.pk]
        assert held_until(tenant_a) is None  # a claim that finds room clears it


def test_a_claim_over_the_daily_limit_holds_the_tenant_until_its_local_midnight(tenant_a):
    set_limits(tenant_a, per_day_limit=1, time_zone="America/New_York")
    (email,) = queue(tenant_a, 1, kick=False)
    # 20:00 in New York (EST, UTC-5) is 01:00 UTC the next day.
    now = datetime.datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        attempt(tenant_a, email, now - datetime.timedelta(hours=2))
        OutboundEmail.objects.update(next_attempt_at=now)
        assert claim_batch(tenant_id=tenant_a.pk, owner="w1", limit=10) == []
    assert held_until(tenant_a) == datetime.datetime(2026, 11, 26, 5, 0, tzinfo=UTC)


def test_mail_in_flight_holds_the_tenant_for_a_lease(tenant_a, settings):
    settings.OUTBOX_LEASE_SECONDS = 60
    set_limits(tenant_a, per_minute_limit=1)
    queue(tenant_a, 2, kick=False)
    with time_machine.travel(NOON, tick=False):
        OutboundEmail.objects.update(next_attempt_at=NOON)
        assert len(claim_batch(tenant_id=tenant_a.pk, owner="w1", limit=10)) == 1
        assert claim_batch(tenant_id=tenant_a.pk, owner="w2", limit=10) == []
    assert held_until(tenant_a) == NOON + datetime.timedelta(seconds=60)


def test_a_kick_while_held_sends_nothing_and_keeps_the_mail_queued(tenant_a):
    set_limits(tenant_a, per_minute_limit=1)
    first, second = queue(tenant_a, 2, kick=False)
    with time_machine.travel(NOON, tick=False):
        attempt(tenant_a, first, NOON - datetime.timedelta(seconds=30))
        OutboundEmail.objects.update(next_attempt_at=NOON)
        assert deliver_due(tenant_id=tenant_a.pk) == 0
        assert deliver_due(tenant_id=tenant_a.pk) == 0
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {Status.QUEUED}
    assert held_until(tenant_a) == NOON + datetime.timedelta(seconds=30)


def test_saving_the_settings_form_resets_the_schedule_and_the_hold(tenant_a, admin_client_a):
    set_limits(
        tenant_a,
        next_run_at=NOON + datetime.timedelta(days=1),
        held_until=NOON + datetime.timedelta(hours=5),
    )
    response = admin_client_a.post(
        "/settings/reminders/",
        {
            "enabled": "on",
            "interval_days": "7",
            "sending_hour": "10",
            "time_zone": "Europe/Paris",
            "per_minute_limit": "30",
            "per_day_limit": "2000",
        },
    )
    assert response.status_code == 302
    limits = ReminderSettings.objects.get(tenant=tenant_a)
    assert (limits.sending_hour, limits.next_run_at) == (10, None)
    assert held_until(tenant_a) is None


# --- when the reminder tick runs a tenant ----------------------------------------------------


def settings_like(hour: int) -> ReminderSettings:
    return ReminderSettings(sending_hour=hour)


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "hour", "now", "expected"),
    [
        # Before the hour: today's; after: tomorrow's.
        ("UTC", 9, utc(2026, 11, 25, 8, 59), (False, utc(2026, 11, 25, 9, 0))),
        ("UTC", 9, utc(2026, 11, 25, 9, 0), (True, utc(2026, 11, 26, 9, 0))),
        # 12:00 UTC is already 01:00 on the 26th in Auckland (UTC+13).
        ("Pacific/Auckland", 9, utc(2026, 11, 25, 12, 0), (False, utc(2026, 11, 25, 20, 0))),
        ("Pacific/Auckland", 9, utc(2026, 11, 25, 20, 0), (True, utc(2026, 11, 26, 20, 0))),
        ("America/Los_Angeles", 9, utc(2026, 11, 25, 3, 0), (True, utc(2026, 11, 25, 17, 0))),
        # New York springs forward on 8 March 2026: 09:00 EST on the 7th, then 09:00 EDT
        # on the 8th, 23 hours later.
        ("America/New_York", 9, utc(2026, 3, 7, 14, 0), (True, utc(2026, 3, 8, 13, 0))),
        # ...and falls back on 1 November 2026: 25 hours.
        ("America/New_York", 9, utc(2026, 10, 31, 13, 0), (True, utc(2026, 11, 1, 14, 0))),
        # 02:00 does not exist on 8 March in New York: the run is at 03:00 EDT that day.
        ("America/New_York", 2, utc(2026, 3, 8, 6, 59), (False, utc(2026, 3, 8, 7, 0))),
        ("America/New_York", 2, utc(2026, 3, 7, 7, 0), (True, utc(2026, 3, 8, 7, 0))),
    ],
)
def test_the_next_run_is_the_next_local_sending_hour(zone, hour, now, expected):
    assert next_run(settings_like(hour), now, time_zone=zone) == expected


@pytest.fixture
def overdue_customer(tenant_a):
    return make_overdue(tenant_a, "Northwind")


def make_overdue(tenant, name, *, invoices=1, today=TODAY) -> Customer:
    customer = Customer.objects.create(
        tenant=tenant, name=name, billing_email=f"ap@{name.lower().replace(' ', '')}.example"
    )
    for n in range(invoices):
        due = today - datetime.timedelta(days=10 + n)
        Invoice.objects.create(
            tenant=tenant,
            customer=customer,
            number=f"{name}-{n}",
            issued_on=due - datetime.timedelta(days=30),
            due_on=due,
            amount=Decimal("100.00"),
            open_balance=Decimal("100.00"),
        )
    return customer


@pytest.fixture(autouse=True)
def tenant_tasks_in_process(eager_tasks):
    """The tick hands each due tenant to its own task; here it runs in the test's
    process, also where CI configures a broker, so the tests read what it queued."""


def next_run_at(tenant):
    return ReminderSettings.objects.get(tenant=tenant).next_run_at


def test_the_tick_runs_a_tenant_once_a_day_at_its_sending_hour(tenant_a, overdue_customer):
    set_limits(tenant_a, sending_hour=9, time_zone="UTC")
    with time_machine.travel(utc(2026, 11, 25, 8, 0), tick=False) as clock:
        assert schedule_daily_reminders() == 0
        assert next_run_at(tenant_a) == utc(2026, 11, 25, 9, 0)
        clock.move_to(utc(2026, 11, 25, 9, 0, 30))
        assert schedule_daily_reminders() == 1
        assert next_run_at(tenant_a) == utc(2026, 11, 26, 9, 0)
        clock.move_to(utc(2026, 11, 25, 9, 1))
        with CaptureQueriesContext(connection) as queries:
            assert schedule_daily_reminders() == 0
        assert len(queries) == 1  # nobody due: the tick looks at nobody


def test_the_tick_runs_a_new_york_tenant_at_3_when_2_is_skipped(tenant_a):
    make_overdue(tenant_a, "Northwind", today=datetime.date(2026, 3, 8))
    set_limits(tenant_a, sending_hour=2, time_zone="America/New_York")
    with time_machine.travel(utc(2026, 3, 8, 6, 59), tick=False) as clock:  # 01:59 EST
        assert schedule_daily_reminders() == 0
        clock.move_to(utc(2026, 3, 8, 7, 0))  # 03:00 EDT
        assert schedule_daily_reminders() == 1
    assert next_run_at(tenant_a) == utc(2026, 3, 9, 6, 0)  # 02:00 EDT


def test_a_tenant_with_reminders_off_is_not_run(tenant_a, overdue_customer):
    set_limits(tenant_a, enabled=False)
    with time_machine.travel(NOON, tick=False):
        assert schedule_daily_reminders() == 0
    assert next_run_at(tenant_a) is None
    assert not OutboundEmail.objects.exists()


def test_a_new_tenant_has_reminders_on_from_its_creation(tenant_a, overdue_customer):
    limits = ReminderSettings.objects.get(tenant=tenant_a)  # made with the tenant
    assert limits.enabled and limits.next_run_at is None
    with time_machine.travel(NOON, tick=False):
        assert schedule_daily_reminders() == 1
    limits.refresh_from_db()
    assert limits.next_run_at == utc(2026, 11, 26, 9, 0)


def test_a_tenant_whose_scheduling_fails_is_logged_and_the_others_get_their_reminders(
    tenant_a, tenant_b, monkeypatch, caplog
):
    make_overdue(tenant_a, "Northwind")
    make_overdue(tenant_b, "Initech")
    real = reminders.due_customers

    def broken_for_a(*, tenant, today):
        if tenant.pk == tenant_a.pk:
            raise RuntimeError("the database said no")
        return real(tenant=tenant, today=today)

    monkeypatch.setattr(reminders, "due_customers", broken_for_a)
    with (
        time_machine.travel(NOON, tick=False) as clock,
        caplog.at_level(logging.ERROR, logger="dunning.reminders"),
    ):
        # Both are handed to their own task; A's fails there, alone.
        assert schedule_daily_reminders() == 2
        (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert record.tenant_id == tenant_a.pk and record.exc_info
        assert OutboundEmail.objects.get().tenant == tenant_b
        # Retried a few minutes later, not at every tick, nor only tomorrow.
        assert next_run_at(tenant_a) == NOON + reminders.RETRY_AFTER
        assert next_run_at(tenant_b) == utc(2026, 11, 26, 9, 0)
        clock.shift(datetime.timedelta(minutes=1))
        assert schedule_daily_reminders() == 0
        monkeypatch.setattr(reminders, "due_customers", real)
        clock.shift(reminders.RETRY_AFTER)
        assert schedule_daily_reminders() == 1
    assert OutboundEmail.objects.filter(tenant=tenant_a).count() == 1
    assert next_run_at(tenant_a) == utc(2026, 11, 26, 9, 0)


def test_a_customer_whose_reminder_cannot_be_built_does_not_cost_the_others_theirs(
    tenant_a, caplog
):
    good = make_overdue(tenant_a, "Northwind")
    bad = make_overdue(tenant_a, "Bad Data")
    Customer.objects.filter(pk=bad.pk).update(cc_emails=["not an address"])  # past clean()
    with caplog.at_level(logging.ERROR, logger="dunning.reminders"):
        assert schedule_reminders(tenant=tenant_a, today=TODAY) == 1
    assert OutboundEmail.objects.get().customer == good
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert (record.tenant_id, record.customer_id) == (tenant_a.pk, bad.pk)
    bad.refresh_from_db()
    assert bad.next_reminder_on is None  # still due: the next run tries it again


def many_tenants(count: int, *, next_run_at) -> None:
    tenants = Tenant.objects.bulk_create(Tenant(name=f"Idle {n:03d}") for n in range(count))
    ReminderSettings.objects.bulk_create(
        ReminderSettings(tenant=tenant, next_run_at=next_run_at) for tenant in tenants
    )


# The tick's look-up, the due rows, the claim and its read-back; the tenant's own
# scheduling runs in its own task.
TICK_WITH_ONE_DUE = 4


@pytest.mark.parametrize("idle_tenants", [5, 50])
def test_the_tick_does_not_read_tenants_that_are_not_due_one_by_one(
    idle_tenants, tenant_a, overdue_customer, django_assert_max_num_queries
):
    many_tenants(idle_tenants, next_run_at=NOON + datetime.timedelta(hours=3))
    set_limits(tenant_a, next_run_at=NOON + datetime.timedelta(hours=1))
    with time_machine.travel(NOON, tick=False):
        handed_over = []

        def dispatch(tenant_id, claim):
            handed_over.append(tenant_id)

        with django_assert_max_num_queries(1):
            assert run_reminder_tick(dispatch=dispatch) == 0
        # One tenant due among them: the tick claims it and hands it to its own task,
        # whatever the number of idle ones.
        set_limits(tenant_a, next_run_at=NOON - datetime.timedelta(minutes=1))
        with django_assert_max_num_queries(TICK_WITH_ONE_DUE, info="one due tenant"):
            assert run_reminder_tick(dispatch=dispatch) == 1
        assert handed_over == [tenant_a.pk]


# --- scheduling in chunks --------------------------------------------------------------------


def test_batched_scheduling_queues_one_reminder_per_due_customer_with_its_invoices(tenant_a):
    due = [make_overdue(tenant_a, f"Due {n}", invoices=1 + n % 3) for n in range(7)]
    paused = make_overdue(tenant_a, "Paused")
    Customer.objects.filter(pk=paused.pk).update(reminders_paused=True)
    not_yet = Customer.objects.create(tenant=tenant_a, name="Fine", billing_email="a@fine.example")
    Invoice.objects.create(
        tenant=tenant_a,
        customer=not_yet,
        number="Fine-0",
        issued_on=TODAY,
        due_on=TODAY + datetime.timedelta(days=30),
        amount=Decimal("5.00"),
        open_balance=Decimal("5.00"),
    )
    progress = []
    assert (
        schedule_reminders(
            tenant=tenant_a,
            today=TODAY,
            chunk_size=3,
            progress=lambda done, total: progress.append((done, total)),
        )
        == 7
    )
    assert progress == [(3, 7), (6, 7), (7, 7)]
    emails = OutboundEmail.objects.filter(tenant=tenant_a)
    assert sorted(e.customer_id for e in emails) == sorted(c.pk for c in due)
    for email in emails:
        assert email.kind == Kind.REMINDER and email.reminder_date == TODAY
        linked = sorted(i.number for i in email.invoices.all())
        assert linked == sorted(i.number for i in email.customer.invoices.all())
        assert all(number in email.body_text for number in linked)
    assert schedule_reminders(tenant=tenant_a, today=TODAY, chunk_size=3) == 0
    assert OutboundEmail.objects.filter(tenant=tenant_a).count() == 7
    assert set(
        Customer.objects.filter(pk__in=[c.pk for c in due]).values_list(
            "next_reminder_on", flat=True
        )
    ) == {TODAY + datetime.timedelta(days=7)}


def test_a_reminder_already_queued_today_is_not_duplicated_and_the_chunk_still_goes(tenant_a):
    customers = [make_overdue(tenant_a, f"Due {n}") for n in range(4)]
    assert schedule_reminders(tenant=tenant_a, today=TODAY) == 4
    # Someone edits a date by hand and deletes one reminder: three would be duplicates.
    Customer.objects.filter(tenant=tenant_a).update(next_reminder_on=None)
    OutboundEmail.objects.filter(customer=customers[2]).delete()
    assert schedule_reminders(tenant=tenant_a, today=TODAY) == 1
    per_customer = {c.pk: c.emails.count() for c in customers}
    assert set(per_customer.values()) == {1}
    assert OutboundEmail.invoices.through.objects.count() == 4


def bulk_customers(tenant, count: int) -> None:
    customers = Customer.objects.bulk_create(
        Customer(tenant=tenant, name=f"Customer {n:05d}", billing_email=f"ap{n}@client.example")
        for n in range(count)
    )
    Invoice.objects.bulk_create(
        Invoice(
            tenant=tenant,
            customer=customer,
            number=f"INV-{customer.pk}-{k}",
            issued_on=TODAY - datetime.timedelta(days=60),
            due_on=TODAY - datetime.timedelta(days=30 - k),
            amount=Decimal("120.00"),
            open_balance=Decimal("120.00"),
        )
        for customer in customers
        for k in range(2)
    )


# Per chunk (about 16): its savepoint, the guarded UPDATE, the invoices, then the enqueue
# service's own (the sender's settings, the emails' and the links' inserts, the status
# counts, their savepoints). Before the chunks (about 7): the reminder settings, the due
# customers, and the first enqueue making the tenant's outgoing settings row. 1,000
# customers are 2 chunks of 500 with the same queries as 1 chunk of 100, plus one chunk's.
FIXED = 8
PER_CHUNK = 18


@pytest.mark.parametrize("count", [100, 1000])
def test_scheduling_takes_a_bounded_number_of_queries_per_chunk(
    count, tenant_a, django_assert_max_num_queries
):
    bulk_customers(tenant_a, count)
    chunks = -(-count // reminders.CHUNK_SIZE)
    with django_assert_max_num_queries(FIXED + PER_CHUNK * chunks):
        assert schedule_reminders(tenant=tenant_a, today=TODAY) == count
    email = OutboundEmail.objects.filter(tenant=tenant_a).first()
    assert email.invoices.count() == 2
    assert json.dumps(email.to_addresses).startswith('["ap')


# --- the drain's query on PostgreSQL ---------------------------------------------------------

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="EXPLAIN plans are checked on PostgreSQL only (run with DATABASE_URL=postgres://...)",
)


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


@postgresql_only
def test_the_drain_finds_due_tenants_on_the_partial_index_not_the_outbox(tenant_a, tenant_b):
    # History: thousands of sent emails; a few queued.
    now = timezone.now()
    OutboundEmail.objects.bulk_create(
        OutboundEmail(
            tenant=tenant_a,
            to_addresses=["ap@client.example"],
            subject="Sent long ago",
            body_text="b",
            message_id=f"<old-{n}@acme.example>",
            status=Status.SENT,
            next_attempt_at=now,
        )
        for n in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboundEmail._meta.db_table}")
    queue(tenant_a, 2, kick=False)
    queue(tenant_b, 1, kick=False)
    query = (
        OutboundEmail.objects.filter(status=Status.QUEUED, next_attempt_at__lte=timezone.now())
        .order_by()
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()[0]
    nodes = list(plan_nodes(plan["Plan"]))
    scans = [(n["Node Type"], n.get("Index Name")) for n in nodes if "Scan" in n["Node Type"]]
    assert scans and all(name == "outbox_due" for _, name in scans), scans
    assert not any(kind == "Seq Scan" for kind, _ in scans)
    assert sorted(tenants_to_drain(now=timezone.now())) == sorted([tenant_a.pk, tenant_b.pk])


def test_a_claim_that_finds_nothing_due_costs_one_query_and_takes_no_lock(
    tenant_a, django_assert_num_queries
):
    # Another worker took the batch, or a kick came for mail already sent.
    with django_assert_num_queries(1):
        assert claim_batch(tenant_id=tenant_a.pk, owner="idle-worker", limit=100) == []
