"""Delivery benchmark: the product's outbox against a bare smtplib loop.

    .venv/bin/python bench/delivery.py [--runs 5] [--database-url postgres://...] 2>/dev/null

Runs on PostgreSQL (default postgres://postgres@127.0.0.1:5432/yaypay_bench, created if
missing) against a local aiosmtpd server with STARTTLS and AUTH in its own process.
Two scenarios: 2,000 messages for one tenant, then 100 each for 20 tenants. For each:

  (a) the product: the timed window opens before the enqueue service
      (outbox.services.outbox_enqueue_many) creates the messages and closes when
      the last one is recorded Sent; delivery is outbox.delivery.deliver_due, the
      service the Celery task calls, run by CONCURRENCY worker processes (standing in for
      Celery workers; the enqueue service's task kick wakes them, as the broker would);
  (b) a bare smtplib loop: STARTTLS and AUTH once per tenant, then per message build an
      EmailMessage with text and HTML parts of the product's sizes and send it;
  (c) bare smtplib with one connection (STARTTLS + AUTH) per message.

CPU counts the delivering processes and, for (a), the PostgreSQL backends serving them
(from /proc), not the SMTP server. Each figure is the median of --runs runs after a
warm-up; every run checks that the server received every message exactly once.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import smtplib
import ssl
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONCURRENCY = 2
LOGIN, PASSWORD = "bench@bench.example", "bench-Password-1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the SMTP server, in its own process ------------------------------------------


def serve_smtp(ca_dir: str, port_out, received) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from tests.smtp_servers import TestCA, free_port

    ca = TestCA(Path(ca_dir) / "ca.pem", Path(ca_dir) / "server.pem", Path(ca_dir) / "server.key")

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            # Report only the Message-ID: parsing costs the server, not the senders.
            head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
            for line in head.split(b"\r\n"):
                if line[:11].lower() == b"message-id:":
                    received.put(line[11:].strip().decode())
                    break
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == LOGIN and auth_data.password.decode() == PASSWORD
        return AuthResult(success=ok)

    port = free_port()
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        server_hostname="localhost",
        tls_context=ca.server_context(),
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
        auth_required=True,
        data_size_limit=None,
    )
    controller.start()
    port_out.send(port)
    while True:
        time.sleep(3600)


def make_ca(directory: Path) -> Path:
    from tests.smtp_servers import make_test_ca

    ca = make_test_ca(directory)
    for source, name in (
        (ca.ca_path, "ca.pem"),
        (ca.cert_path, "server.pem"),
        (ca.key_path, "server.key"),
    ):
        (directory / name).write_bytes(Path(source).read_bytes())
    return directory


# --- CPU accounting -------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def total_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


# --- (a) the product ------------------------------------------------------------------


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def delivery_worker(commands, results) -> None:
    """A stand-in for a Celery worker process: on a kick, run the task's service for
    the tenants until nothing is left."""
    import django

    django.setup()
    from outbox.delivery import deliver_due

    results.put(("ready", os.getpid(), backend_pid()))
    # BENCH_PROFILE=DIR: each worker writes a cProfile of each delivery run there.
    profile_dir = os.environ.get("BENCH_PROFILE")
    runs = 0
    while True:
        tenant_ids = commands.get()
        if tenant_ids is None:
            return
        offset = os.getpid() % len(tenant_ids)
        order = tenant_ids[offset:] + tenant_ids[:offset]
        profile = None
        if profile_dir:
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        while sum(deliver_due(tenant_id=tenant_id) for tenant_id in order):
            pass
        if profile is not None:
            profile.disable()
            runs += 1
            profile.dump_stats(f"{profile_dir}/worker-{len(tenant_ids)}t-{os.getpid()}-{runs}.prof")
        results.put(("done", os.getpid(), 0))


class Product:
    def __init__(self, tenants, body):
        self.tenants = tenants
        self.text, self.html = body
        self.commands = mp.Queue()
        self.results = mp.Queue()
        from django.db import connections

        connections.close_all()  # no connection may cross a fork
        self.workers = [
            mp.Process(target=delivery_worker, args=(self.commands, self.results), daemon=True)
            for _ in range(CONCURRENCY)
        ]
        for worker in self.workers:
            worker.start()
        self.pids = []
        for _ in self.workers:
            _, pid, backend = self.results.get(timeout=60)
            self.pids += [pid, backend]
        self.pids += [os.getpid(), backend_pid()]

    def run(self, per_tenant: int) -> tuple[float, float, list[str]]:
        from django.db import connection

        import outbox.services as services
        from outbox.models import OutboundEmail, Status
        from outbox.services import NewEmail, outbox_enqueue_many

        with connection.cursor() as cursor:  # not timed: a clean slate for every run
            cursor.execute(
                "TRUNCATE communications_deliveryattempt, communications_outboundemail_invoices, "
                "communications_outboundemail"
            )
        tenant_ids = [t.pk for t in self.tenants]
        # The enqueue service's task kick would go to the broker; here it wakes the workers.
        services.kick_delivery = lambda **kwargs: None

        cpu_before = total_cpu(self.pids)
        start = time.perf_counter()
        for tenant in self.tenants:
            outbox_enqueue_many(
                tenant=tenant,
                emails=(
                    NewEmail(
                        to=[f"customer{n}@client.example"],
                        subject=f"Invoice reminder {n}",
                        text=self.text,
                        html=self.html,
                    )
                    for n in range(per_tenant)
                ),
            )
        for _ in self.workers:
            self.commands.put(tenant_ids)
        for _ in self.workers:
            self.results.get(timeout=600)
        elapsed = time.perf_counter() - start
        cpu = total_cpu(self.pids) - cpu_before

        statuses = set(OutboundEmail.objects.values_list("status", flat=True))
        assert statuses == {Status.SENT}, statuses
        ids = list(OutboundEmail.objects.values_list("message_id", flat=True))
        return elapsed, cpu, ids

    def stop(self):
        for _ in self.workers:
            self.commands.put(None)
        for worker in self.workers:
            worker.join(10)


# --- (b) and (c): bare smtplib -------------------------------------------------------


def bare_message(n: int, text: str, html: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Bench AR <ar@bench.example>"
    message["To"] = f"customer{n}@client.example"
    message["Subject"] = f"Invoice reminder {n}"
    message["Message-ID"] = make_msgid(domain="bench.example")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def connect(port: int, context: ssl.SSLContext) -> smtplib.SMTP:
    smtp = smtplib.SMTP("localhost", port, local_hostname="bench", timeout=30)
    smtp.starttls(context=context)
    smtp.login(LOGIN, PASSWORD)
    return smtp


def bare(
    port: int, tenants: int, per_tenant: int, body, *, per_message: bool, context
) -> tuple[float, float, list[str]]:
    text, html = body
    ids = []
    cpu_before = time.process_time()
    start = time.perf_counter()
    for _ in range(tenants):
        smtp = None if per_message else connect(port, context)
        for n in range(per_tenant):
            message = bare_message(n, text, html)
            if per_message:
                with connect(port, context) as one:
                    one.send_message(message)
            else:
                smtp.send_message(message)
            ids.append(message["Message-ID"])
        if smtp:
            smtp.quit()
    return time.perf_counter() - start, time.process_time() - cpu_before, ids


# --- the harness --------------------------------------------------------------------


def drain(received, expected: list[str]) -> None:
    """Every message arrived exactly once."""
    got = []
    deadline = time.monotonic() + 60
    while len(got) < len(expected) and time.monotonic() < deadline:
        try:
            got.append(received.get(timeout=1))
        except Exception:
            pass
    time.sleep(0.2)
    while not received.empty():
        got.append(received.get())
    assert sorted(got) == sorted(expected), (
        f"server received {len(got)} of {len(expected)} (duplicates: {len(got) - len(set(got))})"
    )


def setup_django(database_url: str, ca_file: Path, port: int, log_level: str) -> None:
    from cryptography.fernet import Fernet

    # Production settings: DEBUG off (with it on, Django records every query).
    os.environ.update(
        DEBUG="false",
        SITE_URL="https://bench.invalid",
        SECRET_KEY=Fernet.generate_key().decode() * 2,
        FERNET_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=database_url,
        SMTP_CA_FILE=str(ca_file),
        SMTP_HOST_ALLOWLIST="localhost,127.0.0.1",
        SMTP_ALLOWED_PORTS=f"25,465,587,2525,{port}",
        # Production logging: one JSON line per delivery is part of the product's cost.
        # Run the benchmark with 2>/dev/null (or to a file) to keep the terminal quiet.
        LOG_LEVEL=log_level,
        LOG_FORMAT="json",
        CELERY_EAGER="1",  # the benchmark's processes stand in for Celery workers
        DJANGO_SETTINGS_MODULE="yaypay_mail.settings",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_tenants(count: int, port: int):
    """Bench tenants on the local server; their limits raised on /settings/reminders/,
    as an admin would."""
    from django.test import Client

    from routes import secrets
    from routes.models import OutgoingEmailSettings
    from yaypay_mail.models import Tenant
    from yaypay_mail.services import member_add

    tenants = []
    for n in range(count):
        tenant, created = Tenant.objects.get_or_create(name=f"Bench {n:02d}")
        if created:
            member_add(
                tenant=tenant,
                email=f"admin{n}@bench.example",
                password="bench-admin-pw-2026",
                role="admin",
            )
        OutgoingEmailSettings.objects.update_or_create(
            tenant=tenant,
            defaults={
                "use_server": "smtp",
                "from_email": "ar@bench.example",
                "sender_name": "Bench AR",
                "host": "localhost",
                "port": port,
                "username": LOGIN,
                "encryption": "tls",
                "password_encrypted": secrets.encrypt(PASSWORD),
                "last_result_ok": True,
                "last_result_code": "",
            },
        )
        admin = tenant.memberships.get(role="admin").user
        client = Client(HTTP_HOST="localhost")
        client.force_login(admin, backend="yaypay_mail.auth.EmailBackend")
        response = client.post(
            "/settings/reminders/",
            {
                "enabled": "on",
                "interval_days": 7,
                "sending_hour": 9,
                "time_zone": "UTC",
                "per_minute_limit": 100000,
                "per_day_limit": 1000000,
            },
            secure=True,  # DEBUG off: HTTP is redirected to HTTPS
        )
        assert response.status_code == 302, f"reminder settings not saved: {response.status_code}"
        tenants.append(tenant)
    return tenants


def product_body() -> tuple[str, str]:
    """A reminder rendered by the product's own templates, for realistic sizes."""
    import datetime
    from decimal import Decimal

    from dunning.reminders import render_reminder
    from yaypay_mail.models import Customer, Invoice, Tenant

    today = datetime.date(2026, 11, 25)
    tenant = Tenant(name="Bench Co")
    customer = Customer(name="Northwind Traders", billing_email="ap@northwind.example")
    invoices = [
        Invoice(
            number=f"INV-{n}",
            due_on=today - datetime.timedelta(days=10 * n),
            open_balance=Decimal("1234.50"),
            currency="USD",
        )
        for n in range(1, 4)
    ]
    rendered = render_reminder(tenant=tenant, customer=customer, invoices=invoices, today=today)
    return rendered.text, rendered.html


def median_of(runs: int, measure) -> tuple[float, float]:
    measure()  # warm-up
    samples = [measure() for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def scenario(label, tenant_count, per_tenant, *, port, body, context, received, runs) -> None:
    total = tenant_count * per_tenant
    product = Product(make_tenants(tenant_count, port), body)

    def run_product():
        elapsed, cpu, ids = product.run(per_tenant)
        drain(received, ids)
        return elapsed, cpu

    def run_bare(per_message):
        def run():
            elapsed, cpu, ids = bare(
                port, tenant_count, per_tenant, body, per_message=per_message, context=context
            )
            drain(received, ids)
            return elapsed, cpu

        return run

    figures = {
        "a": median_of(runs, run_product),
        "b": median_of(runs, run_bare(False)),
        "c": median_of(runs, run_bare(True)),
    }
    product.stop()
    names = {
        "a": "(a) product",
        "b": "(b) bare smtplib, one connection",
        "c": "(c) one connection per message",
    }
    print(f"\n{label}")
    print(f"  {'':34} {'msg/s':>8} {'CPU ms/msg':>11}")
    for key, (elapsed, cpu) in figures.items():
        print(f"  {names[key]:34} {total / elapsed:8.0f} {1000 * cpu / total:11.2f}")
    (ea, ca), (eb, cb) = figures["a"], figures["b"]
    print(
        f"  CPU per message a/b: {ca / cb:.2f} (goal <= 0.8)   "
        f"throughput a/b: {eb / ea:.2f} (goal >= 1.2)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yaypay_bench"
        ),
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        help="INFO (production: a JSON line per delivery) or WARNING, to see what logging costs",
    )
    args = parser.parse_args()

    mp.set_start_method("fork")
    ca_dir = make_ca(Path(tempfile.mkdtemp(prefix="bench-ca-")))
    received = mp.Queue()
    port_in, port_out = mp.Pipe()
    server = mp.Process(target=serve_smtp, args=(str(ca_dir), port_out, received), daemon=True)
    server.start()
    port = port_in.recv()

    setup_django(args.database_url, ca_dir / "ca.pem", port, args.log_level)
    context = ssl.create_default_context(cafile=str(ca_dir / "ca.pem"))
    body = product_body()
    print(
        f"Message body: text {len(body[0])} B, HTML {len(body[1])} B. Product concurrency: {CONCURRENCY} processes. "
        f"Median of {args.runs} runs after a warm-up. CPU: delivering processes (+ PostgreSQL backends for a)."
    )

    for label, tenant_count, per_tenant in (
        ("2,000 messages, 1 tenant", 1, 2000),
        ("100 messages x 20 tenants", 20, 100),
    ):
        scenario(
            label,
            tenant_count,
            per_tenant,
            port=port,
            body=body,
            context=context,
            received=received,
            runs=args.runs,
        )
    server.terminate()


if __name__ == "__main__":
    main()
