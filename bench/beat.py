"""Beat benchmark: one beat minute over 50 tenants, then over 5,000, and one tenant's
reminders for 20,000 customers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yaypay_bench_beat \\
        .venv/bin/python bench/beat.py [--small 50] [--large 5000] [--customers 20000]
                                       [--runs 5] [--baseline-customers 2000]

Runs on PostgreSQL (the database in DATABASE_URL, default the one above, dropped and
created again), in this process, with production settings (DEBUG off) and the broker
kick disabled: a tick's delivery requests are counted, not sent.

A tick is what beat sends every minute: drain_due_mail, schedule_daily_reminders,
reap_expired_leases and sweep_status_counts, called in a row as the tasks' functions.
The reminder tick hands each due tenant to its own task (schedule_tenant_reminders),
as the drain hands each tenant's mail to a delivery task: those tasks run after the
timed tick, on the workers in production, and cost what their tenant has to do.
Each database has 3 customers a tenant with overdue invoices and 20 sent emails a tenant
(history); 1% of the tenants are due for reminders (they get 3 each per tick) and 1%
have queued mail that is due. Between timed ticks the reminders are deleted and the due
tenants made due again (not timed). Figures are medians of --runs ticks after a warm-up:

  - the tick with 1% due: its work grows with the tenants due (1 vs 50), so it is
    shown per due tenant too;
  - the tick with the same due work in both (1 tenant due for reminders, 1 with mail),
    the ratio that shows the cost of the tenants that are not due (goal <= 2x);
  - the idle tick (nobody due).

The 20,000-customer figure is `schedule_reminders` for one tenant (2 overdue invoices
each), with its query count; the baseline is the per-customer loop it replaced (a
guarded UPDATE, the invoices, an insert and the links for each customer), run on
--baseline-customers customers of another tenant, compared per customer.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/yaypay_bench_beat"
KEY = "a1lGd0VtWm9yYjNoOUxpa1ZfS1p2d3l4M0JVR2tGc3E="  # a benchmark-only Fernet key
CUSTOMERS_PER_TENANT = 3
HISTORY_PER_TENANT = 20


def setup_django(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(
        DEBUG="false",
        SITE_URL="https://bench.invalid",
        SECRET_KEY="bench-" + "s" * 60,
        FERNET_KEYS=KEY,
        DATABASE_URL=database_url,
        CELERY_EAGER="1",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="yaypay_mail.settings",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- the data -------------------------------------------------------------------------


def today_utc() -> datetime.date:
    from django.utils import timezone

    return timezone.now().date()


def fill(tenant_count: int, *, due: int) -> dict:
    """Tenants with settings, customers, overdue invoices and history; `due` of them due
    for reminders and `due` with queued mail that is due. Returns the due tenants' ids."""
    from django.db import connection
    from django.utils import timezone

    from dunning.models import ReminderSettings
    from outbox.models import OutboundEmail, Status
    from yaypay_mail.models import Customer, Invoice, Tenant

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE yaypay_mail_tenant CASCADE")
    now = timezone.now()
    today = today_utc()
    tomorrow_9 = datetime.datetime.combine(
        today + datetime.timedelta(days=1), datetime.time(9), tzinfo=datetime.UTC
    )
    tenants = Tenant.objects.bulk_create(
        Tenant(name=f"Tenant {n:05d}") for n in range(tenant_count)
    )
    step = max(1, tenant_count // due)
    reminder_due = [t.pk for t in tenants[::step][:due]]
    mail_due = [t.pk for t in tenants[step // 2 :: step][:due]]
    ReminderSettings.objects.bulk_create(
        ReminderSettings(
            tenant=tenant,
            sending_hour=0,  # has come, for the due ones
            next_run_at=now - datetime.timedelta(minutes=1)
            if tenant.pk in reminder_due
            else tomorrow_9,
        )
        for tenant in tenants
    )
    customers = Customer.objects.bulk_create(
        (
            Customer(
                tenant=tenant,
                name=f"Customer {n}",
                billing_email=f"ap{n}@client{tenant.pk}.example",
                # Reminded a day ago, unless the tenant is due.
                next_reminder_on=None
                if tenant.pk in reminder_due
                else today + datetime.timedelta(days=6),
            )
            for tenant in tenants
            for n in range(CUSTOMERS_PER_TENANT)
        ),
        batch_size=5000,
    )
    add_invoices(customers, today)
    OutboundEmail.objects.bulk_create(
        (
            OutboundEmail(
                tenant=tenant,
                to_addresses=["ap@client.example"],
                subject=f"Sent {n}",
                body_text="Please pay.",
                message_id=f"<h-{tenant.pk}-{n}@bench.example>",
                status=Status.SENT,
                next_attempt_at=now - datetime.timedelta(days=n),
                sent_at=now - datetime.timedelta(days=n),
            )
            for tenant in tenants
            for n in range(HISTORY_PER_TENANT)
        ),
        batch_size=5000,
    )
    OutboundEmail.objects.bulk_create(
        OutboundEmail(
            tenant_id=tenant_id,
            to_addresses=["ap@client.example"],
            subject=f"Queued {n}",
            body_text="Please pay.",
            message_id=f"<q-{tenant_id}-{n}@bench.example>",
            status=Status.QUEUED,
            next_attempt_at=now - datetime.timedelta(seconds=30),
        )
        for tenant_id in mail_due
        for n in range(2)
    )
    # Settle the rollups of the bulk rows before timing (sweep_status_counts, if any).
    sweep = tick_tasks().get("sweep_status_counts")
    if sweep:
        while sweep():
            pass
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    Invoice.objects.count()  # a warm connection
    return {"reminders": reminder_due, "mail": mail_due}


def add_invoices(customers, today: datetime.date) -> None:
    from yaypay_mail.models import Invoice

    Invoice.objects.bulk_create(
        (
            Invoice(
                tenant_id=customer.tenant_id,
                customer=customer,
                number=f"INV-{customer.pk}-{k}",
                issued_on=today - datetime.timedelta(days=60),
                due_on=today - datetime.timedelta(days=20 + k),
                amount=Decimal("1200.00"),
                open_balance=Decimal("900.00"),
            )
            for customer in customers
            for k in range(2)
        ),
        batch_size=5000,
    )


def make_due_again(due: dict, everyone: dict) -> None:
    """Not timed: the reminders deleted; `due`'s tenants due for reminders and with due
    mail, the others of `everyone` not."""
    from django.utils import timezone

    from dunning.models import ReminderSettings
    from outbox.models import Kind, OutboundEmail, Status
    from yaypay_mail.models import Customer

    now = timezone.now()
    OutboundEmail.objects.filter(kind=Kind.REMINDER).delete()
    Customer.objects.filter(tenant_id__in=due["reminders"]).update(next_reminder_on=None)
    ReminderSettings.objects.filter(tenant_id__in=everyone["reminders"]).update(
        next_run_at=now + datetime.timedelta(hours=6)
    )
    ReminderSettings.objects.filter(tenant_id__in=due["reminders"]).update(
        next_run_at=now - datetime.timedelta(minutes=1)
    )
    queued = OutboundEmail.objects.filter(status=Status.QUEUED)
    queued.update(next_attempt_at=now + datetime.timedelta(hours=1))
    queued.filter(tenant_id__in=due["mail"]).update(next_attempt_at=now)


# --- the tick ---------------------------------------------------------------------------


def tick_tasks() -> dict:
    from dunning import tasks as reminder_tasks
    from outbox import tasks

    return {
        "drain_due_mail": tasks.drain_due_mail,
        "schedule_daily_reminders": reminder_tasks.schedule_daily_reminders,
        "reap_expired_leases": tasks.reap_expired_leases,
        "sweep_status_counts": tasks.sweep_status_counts,
    }


KICKS: list[int] = []
HANDED_OVER: list[tuple[int, str]] = []


def disable_kicks() -> None:
    """Delivery kicks are counted, and the tenants the reminder tick hands to their own
    tasks are kept: their work is run after the tick, timed on its own."""
    import outbox.services as services
    from dunning import tasks as reminder_tasks
    from outbox import tasks

    def kick(*, tenant_id, queued=1):
        KICKS.append(tenant_id)

    services.kick_delivery = tasks.kick_delivery = kick
    reminder_tasks.schedule_tenant_reminders.delay = lambda tenant_id, claim: HANDED_OVER.append(
        (tenant_id, claim)
    )


@contextmanager
def counting_queries():
    from django.db import connection

    count = [0]

    def wrapper(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield count


def one_tick() -> tuple[float, int, int, int]:
    """Seconds, queries, tenants handed their reminders, tenants kicked. The handed-over
    tenants' own tasks then run, untimed here (their cost is each tenant's own)."""
    import datetime as dt

    from dunning.reminders import run_claimed_tenant

    KICKS.clear()
    HANDED_OVER.clear()
    tasks = tick_tasks()
    with counting_queries() as queries:
        started = time.perf_counter()
        results = {name: task() for name, task in tasks.items()}
        seconds = time.perf_counter() - started
    for tenant_id, claim in HANDED_OVER:
        run_claimed_tenant(tenant_id, claim=dt.datetime.fromisoformat(claim))
    return seconds, queries[0], results["schedule_daily_reminders"], len(set(KICKS))


def measure_ticks(due: dict, everyone: dict, runs: int) -> tuple[float, int, int, int]:
    samples = []
    for _ in range(runs + 1):  # the first is a warm-up
        make_due_again(due, everyone)
        samples.append(one_tick())
    samples = samples[1:]
    seconds = statistics.median(s[0] for s in samples)
    return seconds, samples[-1][1], samples[-1][2], samples[-1][3]


def idle_tick(runs: int) -> tuple[float, int]:
    from dunning.models import ReminderSettings
    from outbox.models import Kind, OutboundEmail, Status

    OutboundEmail.objects.filter(kind=Kind.REMINDER).delete()
    ReminderSettings.objects.update(
        next_run_at=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=6)
    )
    OutboundEmail.objects.filter(status=Status.QUEUED).update(status=Status.CANCELLED)
    samples = [one_tick() for _ in range(runs + 1)][1:]
    return statistics.median(s[0] for s in samples), samples[-1][1]


def scenario(tenant_count: int, runs: int, *, explain: bool = False) -> dict:
    due_count = max(1, tenant_count // 100)
    started = time.perf_counter()
    due = fill(tenant_count, due=due_count)
    filled = time.perf_counter() - started
    at_one_percent = measure_ticks(due, due, runs)
    one_each = {"reminders": due["reminders"][:1], "mail": due["mail"][:1]}
    same_work = measure_ticks(one_each, due, runs)
    plans = []
    if explain:
        make_due_again(due, due)
        plans = explain_plans()
    idle = idle_tick(runs)
    print(
        f"\n{tenant_count:,} tenants ({tenant_count * CUSTOMERS_PER_TENANT:,} customers, "
        f"{tenant_count * HISTORY_PER_TENANT:,} emails of history; filled in {filled:.0f} s)"
    )
    for label, (seconds, queries, queued, kicked) in (
        (f"1% due ({due_count} + {due_count})", at_one_percent),
        ("1 due for reminders, 1 with mail", same_work),
    ):
        print(
            f"  tick, {label:34} {1000 * seconds:8.1f} ms  {queries:5} queries  "
            f"{queued:4} tenants handed reminders  {kicked:3} tenants kicked"
        )
    print(f"  tick, {'nobody due':34} {1000 * idle[0]:8.1f} ms  {idle[1]:5} queries")
    for line in plans:
        print(line)
    return {
        "due": due_count,
        "one_percent": at_one_percent[0],
        "same_work": same_work[0],
        "idle": idle[0],
        "idle_queries": idle[1],
    }


def explain_plans() -> list[str]:
    """The drain's and the reminder tick's look-ups on the large database."""
    from django.db import connection
    from django.utils import timezone

    from dunning.reminders import due_tenants_query
    from outbox.models import OutboundEmail, SendingLimits, Status

    now = timezone.now()
    drain = (
        OutboundEmail.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now)
        .order_by()
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    held = SendingLimits.objects.filter(tenant_id__in=list(drain), held_until__gt=now).values_list(
        "tenant_id", flat=True
    )
    due = due_tenants_query(now)
    lines = []
    for label, query in (
        ("drain: tenants with due mail", drain),
        ("drain: which of them are held", held),
        ("reminder tick: tenants due", due),
    ):
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}", params)
            lines.append(f"  EXPLAIN, {label}:")
            lines += [f"    {line}" for (line,) in cursor.fetchall()]
    return lines


# --- 20,000 customers ------------------------------------------------------------------


def old_schedule_reminders(tenant, today: datetime.date) -> int:
    """The per-customer loop that schedule_reminders replaced, for the baseline."""
    from django.db import IntegrityError, transaction
    from django.db.models import Q

    from dunning.reminders import _overdue, due_customers, render_reminder
    from outbox.models import Kind
    from outbox.services import NewEmail, outbox_enqueue_many
    from yaypay_mail.models import Customer

    next_date = today + datetime.timedelta(days=7)
    queued = 0
    for customer in list(due_customers(tenant=tenant, today=today)):
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
                    new = NewEmail(
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
                    outbox_enqueue_many(tenant=tenant, emails=[new], kick=False)
                    queued += 1
        except IntegrityError:
            pass
    return queued


def big_tenant(name: str, customers: int):
    from yaypay_mail.models import Customer, Tenant

    tenant = Tenant.objects.create(name=name)
    rows = Customer.objects.bulk_create(
        (
            Customer(tenant=tenant, name=f"Customer {n:05d}", billing_email=f"ap{n}@c.example")
            for n in range(customers)
        ),
        batch_size=5000,
    )
    add_invoices(rows, today_utc())
    return tenant


def many_customers(customers: int, baseline_customers: int) -> None:
    from django.db import connection

    from dunning.reminders import schedule_reminders

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE yaypay_mail_tenant CASCADE")
    tenant = big_tenant("Twenty thousand", customers)
    old = big_tenant("Baseline", baseline_customers)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    today = today_utc()
    with counting_queries() as queries:
        started = time.perf_counter()
        queued = schedule_reminders(tenant=tenant, today=today)
        seconds = time.perf_counter() - started
    assert queued == customers, queued
    with counting_queries() as again_queries:
        started = time.perf_counter()
        again = schedule_reminders(tenant=tenant, today=today)
        again_seconds = time.perf_counter() - started
    assert again == 0
    with counting_queries() as old_queries:
        started = time.perf_counter()
        old_queued = old_schedule_reminders(old, today)
        old_seconds = time.perf_counter() - started
    assert old_queued == baseline_customers
    per_new = 1000 * seconds / customers
    per_old = 1000 * old_seconds / baseline_customers
    print(f"\nOne tenant's reminders, {customers:,} customers with 2 overdue invoices each")
    print(
        f"  schedule_reminders:      {seconds:6.1f} s  {queries[0]:6,} queries  "
        f"{per_new:5.2f} ms/customer"
    )
    print(
        f"  the same day again:      {again_seconds:6.1f} s  {again_queries[0]:6,} queries  "
        "(queues nothing)"
    )
    print(
        f"  per-customer baseline:   {old_seconds:6.1f} s  {old_queries[0]:6,} queries  "
        f"{per_old:5.2f} ms/customer  ({baseline_customers:,} customers)"
    )
    print(
        f"  per customer, baseline / chunked: {per_old / per_new:.1f}x time, "
        f"{old_queries[0] / baseline_customers / (queries[0] / customers):.0f}x queries"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--baseline-customers", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", DEFAULT_URL)
        if os.environ.get("DATABASE_URL", "").startswith("postgres")
        else DEFAULT_URL,
    )
    args = parser.parse_args()
    setup_django(args.database_url)
    disable_kicks()
    print(
        f"Beat tick = {' + '.join(tick_tasks())}, in-process, broker kick off; "
        f"median of {args.runs} ticks; PostgreSQL"
    )
    small = scenario(args.small, args.runs)
    large = scenario(args.large, args.runs, explain=True)
    print(f"\nRatios, {args.large:,} tenants / {args.small:,} tenants")
    print(
        f"  tick at 1% due:             {large['one_percent'] / small['one_percent']:6.2f}x "
        f"(due work x{large['due'] / small['due']:.0f}); per due tenant "
        f"{(large['one_percent'] / large['due']) / (small['one_percent'] / small['due']):.2f}x"
    )
    print(
        f"  tick, same due work:        {large['same_work'] / small['same_work']:6.2f}x (goal <= 2)"
    )
    print(f"  idle tick:                  {large['idle'] / small['idle']:6.2f}x")
    many_customers(args.customers, args.baseline_customers)


if __name__ == "__main__":
    main()
