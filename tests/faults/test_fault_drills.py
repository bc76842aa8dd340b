"""Fault drills: a real Celery worker process (prefork, with beat), a real broker, a real
SMTP server with STARTTLS and AUTH, and faults as they happen: the worker SIGKILLed or
stopped mid-batch, the SMTP server killed and restarted, the worker's database
connection terminated, a poison row in the batch.

Each drill counts by Message-ID what the server received: every Sent email exactly
once, nothing twice, and nothing lost (an email either Sent, or Error with a reason
that says whether the server may have it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Q

from outbox.models import Kind, OutboundEmail, SendingLimits, Status
from routes.failures import INTERRUPTED
from tests.communications.outbox_helpers import queue, use_smtp

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BROKER = (
    os.environ.get("CELERY_BROKER_URL")
    or f"redis://127.0.0.1:6379/{os.environ.get('FAULT_DRILL_BROKER_DB', '13')}"
)
UNSETTLED = (Status.QUEUED, Status.SENDING)


@pytest.fixture(scope="module")
def broker():
    if not BROKER.startswith("redis://"):
        pytest.skip(f"fault drills need a Redis broker, not {BROKER.split(':')[0]}")
    import redis

    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("fault drills need Redis on 127.0.0.1:6379 (CI starts it)")
    from celery import Celery

    # Not the current app: shared tasks of tests that run later in this process must keep
    # finding the project's app (and its eager setting), not this publisher.
    publisher = Celery("drills", broker=BROKER, set_as_current=False)
    publisher.conf.broker_transport_options = {"visibility_timeout": 3600}
    publisher.control.purge()
    return publisher


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        return (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return f"sqlite:///{db['NAME']}"


class Worker:
    """`celery worker --pool prefork --beat` in its own process group."""

    def __init__(self, tmp_path: Path, env: dict[str, str]):
        self.tmp_path = tmp_path
        self.env = env
        self.process: subprocess.Popen | None = None
        self.runs = 0

    def start(self) -> Worker:
        self.runs += 1
        log = open(self.tmp_path / f"worker-{self.runs}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "yaypay_mail",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--beat",
                "--schedule",
                str(self.tmp_path / f"beat-{self.runs}"),
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        os.killpg(self.process.pid, sig)

    def signal_main(self, sig: int) -> None:
        os.kill(self.process.pid, sig)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)

    def log(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-4000:]
            for path in sorted(self.tmp_path.glob("worker-*.log"))
        )


@pytest.fixture
def drill(tenant_a, smtp_server_factory, smtp_env, test_ca, tmp_path, broker, settings):
    """A tenant on a slow STARTTLS+AUTH server, and a worker environment that reaches it."""
    server = smtp_server_factory(mode="starttls", delay=0.15)
    use_smtp(tenant_a, server.port)
    SendingLimits.objects.update_or_create(
        tenant=tenant_a, defaults={"per_minute_limit": 10_000, "per_day_limit": 100_000}
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
        "SMTP_CA_FILE": smtp_env.SMTP_CA_FILE,
        "SMTP_HOST_ALLOWLIST": "localhost,127.0.0.1",
        "SMTP_ALLOWED_PORTS": ",".join(str(p) for p in smtp_env.SMTP_ALLOWED_PORTS),
        "SMTP_TIMEOUT": "2",
        "SMTP_DEADLINE": "5",
        # Short for the drill (the default is 60); DRILL_LEASE_SECONDS=60 measures the default.
        "OUTBOX_LEASE_SECONDS": os.environ.get("DRILL_LEASE_SECONDS", "6"),
        "FERNET_KEYS": ",".join(settings.FERNET_KEYS),
    }
    worker = Worker(tmp_path, env)
    yield tenant_a, server, worker
    worker.stop()
    broker.control.purge()


def drain(broker) -> None:
    broker.send_task("outbox.tasks.drain_due_mail")


def wait_for(condition, seconds: float, what: str, worker: Worker):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if result := condition():
            return result
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen within {seconds}s.\n{worker.log()}")


def settled(emails) -> list[OutboundEmail] | None:
    rows = list(OutboundEmail.objects.filter(pk__in=[e.pk for e in emails]).order_by("id"))
    return rows if all(row.status not in UNSETTLED for row in rows) else None


def assert_none_lost_none_twice(rows: list[OutboundEmail], server) -> Counter:
    received = Counter(r.message["Message-ID"] for r in server.received)
    assert [mid for mid, n in received.items() if n > 1] == [], "received twice"
    outcomes = Counter()
    for row in rows:
        if row.status == Status.SENT:
            assert received[row.message_id] == 1, f"Sent but not received: {row.pk}"
            outcomes["sent"] += 1
        else:
            assert row.status == Status.ERROR, row.status
            if row.error_code == "interrupted":
                assert row.error_message.startswith(INTERRUPTED)
                outcomes["interrupted"] += 1  # may or may not have arrived: it says so
            else:
                assert received[row.message_id] == 0, f"Error but received: {row.pk}"
                outcomes[row.error_code] += 1
    return outcomes


def test_a_worker_killed_mid_batch_loses_nothing_and_recovers_quickly(drill, broker):
    tenant, server, worker = drill
    emails = queue(tenant, 40, kick=False)
    worker.start()
    drain(broker)
    wait_for(lambda: len(server.received) >= 5, 60, "the first deliveries", worker)
    worker.kill(signal.SIGKILL)  # main process and pool child, mid-batch
    killed_at, unsent = time.monotonic(), 40 - len(server.received)
    assert OutboundEmail.objects.filter(status=Status.SENDING).exists()

    worker.start()  # a fresh worker, with beat: its reaper takes the batch back
    rows = wait_for(lambda: settled(emails), 150, "recovery", worker)
    recovery = time.monotonic() - killed_at
    outcomes = assert_none_lost_none_twice(rows, server)
    assert outcomes["interrupted"] <= 1
    assert outcomes["sent"] + outcomes["interrupted"] == 40
    assert all(row.tries <= 1 for row in rows)  # dying once used up no tries
    print(f"\nSIGKILL drill: {unsent} unsent emails settled {recovery:.1f} s after the kill")


def test_a_warm_shutdown_gives_the_unsent_rest_back_at_once(drill, broker):
    tenant, server, worker = drill
    emails = queue(tenant, 40, kick=False)
    worker.start()
    drain(broker)
    wait_for(lambda: len(server.received) >= 5, 60, "the first deliveries", worker)
    worker.signal_main(signal.SIGTERM)  # as docker stop or systemctl stop would
    worker.process.wait(30)
    # Released at once: nothing is left Sending for the reaper to find a lease later.
    assert not OutboundEmail.objects.filter(status=Status.SENDING).exists(), worker.log()
    unsent = OutboundEmail.objects.filter(status=Status.QUEUED)
    assert unsent.exists() and not unsent.filter(Q(tries__gt=0) | Q(claims__gt=0)).exists()

    worker.start()
    drain(broker)
    rows = wait_for(lambda: settled(emails), 60, "delivery of the rest", worker)
    outcomes = assert_none_lost_none_twice(rows, server)
    assert outcomes == Counter(sent=40)


def test_a_smtp_server_killed_and_restarted_loses_nothing(drill, broker):
    tenant, server, worker = drill
    emails = queue(tenant, 30, kick=False)
    worker.start()
    drain(broker)
    wait_for(lambda: len(server.received) >= 5, 60, "the first deliveries", worker)
    port = server.port
    server.stop()  # every connection cut
    wait_for(
        lambda: not OutboundEmail.objects.filter(status=Status.SENDING).exists(),
        30,
        "the worker noticing",
        worker,
    )
    server.start(port=port)
    # The failed tries wait out their backoff (1 minute); let that minute pass.
    OutboundEmail.objects.filter(status=Status.QUEUED).update(next_attempt_at=time_now())
    drain(broker)
    rows = wait_for(lambda: settled(emails), 60, "delivery after the restart", worker)
    outcomes = assert_none_lost_none_twice(rows, server)
    assert outcomes["interrupted"] <= 1
    assert outcomes["sent"] + outcomes["interrupted"] == 30


def test_a_terminated_database_connection_loses_nothing(drill, broker):
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend needs PostgreSQL (CI runs it)")
    tenant, server, worker = drill
    emails = queue(tenant, 30, kick=False)
    worker.start()
    drain(broker)
    wait_for(lambda: len(server.received) >= 5, 60, "the first deliveries", worker)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1
    rows = wait_for(lambda: settled(emails), 90, "recovery", worker)
    outcomes = assert_none_lost_none_twice(rows, server)
    assert outcomes["interrupted"] <= 1
    assert outcomes["sent"] + outcomes["interrupted"] == 30


def test_a_poison_row_in_the_middle_of_a_batch_errors_alone(drill, broker):
    tenant, server, worker = drill
    emails = queue(tenant, 20, kick=False)
    poison = emails[10]
    OutboundEmail.objects.filter(pk=poison.pk).update(kind=Kind.REMINDER, reminder_date=None)
    customer_invoice = _an_invoice(tenant)
    poison.invoices.set([customer_invoice])
    OutboundEmail.objects.filter(pk=emails[5].pk).update(cc_addresses=[{"not": "an address"}])
    worker.start()
    drain(broker)
    rows = wait_for(lambda: settled(emails), 60, "the batch", worker)
    outcomes = assert_none_lost_none_twice(rows, server)
    assert outcomes == Counter(sent=18, invalid_message=2)


def time_now():
    from django.utils import timezone

    return timezone.now()


def _an_invoice(tenant):
    import datetime

    from tests.page_data import make_customer, make_invoice

    customer = make_customer(tenant)
    return make_invoice(customer, "INV-POISON", due_on=datetime.date(2026, 1, 5))
