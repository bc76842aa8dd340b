"""Page benchmark: every collector page for a small tenant and for a large one, in the
same database and the same process, and the ratio between them.

    .venv/bin/python bench/pages.py [--database-url postgres://...] [--reuse] [--runs 5]
                                    [--emails 1000000] [--customers 20000] [--invoices 100000]

Two tenants are filled with SQL (generate_series): "Small" with 10,000 emails, 200
customers and 1,000 invoices, and "Large" with 1,000,000 emails, 20,000 customers and
100,000 invoices (USD, EUR and GBP; a tenth paid; due dates from 120 days ago to 30 days
ahead; emails over the last year, mostly Sent, some Error, Cancelled and Queued). Then
`rebuild_rollups` runs, as an operator would after loading data by SQL, and VACUUM
ANALYZE. Each page is fetched through Django's test client as the tenant's admin, with
DEBUG off: one warm-up, then the median of --runs requests. The small tenant is the
baseline: the goal is every page within 1.5x of it, and the worst page at 1M under
150 ms. The same customer position (the middle one by id) and the same search terms are
used for both tenants, so each pair of requests shows the same amount of data.

Runs on PostgreSQL (default postgres://postgres@127.0.0.1:5432/yaypay_bench_pages,
recreated unless --reuse, which keeps a database filled by an earlier run). Filling
the large tenant takes a few minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SMALL = {"name": "Small", "emails": 10_000, "customers": 200, "invoices": 1_000}
PASSWORD = "bench-pages-password-2026"


def setup_django(database_url: str, reuse: bool) -> None:
    from cryptography.fernet import Fernet

    os.environ.update(
        DEBUG="false",
        SITE_URL="https://bench.invalid",
        SECRET_KEY=Fernet.generate_key().decode() * 2,
        FERNET_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        CELERY_EAGER="1",
        # The test client speaks plain HTTP to "testserver".
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        DJANGO_SETTINGS_MODULE="yaypay_mail.settings",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not reuse:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or not reuse:
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.conf import settings

    # Secure cookies would not come back over the test client's plain HTTP.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(spec: dict) -> int:
    """Create the tenant and its rows with SQL; returns the tenant id. Every column a row
    needs is given here or has a database default (new columns carry db_default)."""
    from django.core.management import call_command
    from django.db import connection

    from yaypay_mail.models import Tenant

    call_command(
        "create_tenant",
        spec["name"],
        admin_email=f"admin@{spec['name'].lower()}.example",
        admin_password=PASSWORD,
        stdout=open(os.devnull, "w"),  # noqa: SIM115
    )
    tenant_id = Tenant.objects.get(name=spec["name"]).pk
    customers, invoices, emails = spec["customers"], spec["invoices"], spec["emails"]
    today = datetime.date.today()
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO yaypay_mail_customer
                (tenant_id, external_id, name, billing_email, cc_emails,
                 reminders_paused, pause_reason, next_reminder_on)
            SELECT %(tenant)s, 'C-' || lpad(n::text, 6, '0'), 'Customer ' || n || ', Inc.',
                   'ap' || n || '@client' || (n %% 97) || '.example', '[]'::jsonb,
                   -- Paused: a few in every tenant, and at least a page of them in each,
                   -- so that ?paused=1 shows 50 rows for both.
                   n %% 50 = 0 OR n <= 60,
                   CASE WHEN n %% 100 = 0 THEN 'Disputed invoice' ELSE '' END,
                   %(today)s::date + 7
            FROM generate_series(1, %(customers)s) AS n
            """,
            {"tenant": tenant_id, "customers": customers, "today": today},
        )
        cursor.execute("SELECT min(id) FROM yaypay_mail_customer WHERE tenant_id = %s", [tenant_id])
        first_customer = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO yaypay_mail_invoice
                (tenant_id, customer_id, number, issued_on, due_on, amount, open_balance,
                 currency, paid)
            SELECT %(tenant)s, %(first)s + (n %% %(customers)s),
                   'INV-' || lpad(n::text, 7, '0'),
                   %(today)s::date - (n %% 150) + 0 - 30, %(today)s::date - (n %% 150) + 30,
                   100 + (n * 37) %% 90000,
                   CASE WHEN n %% 10 = 0 THEN 0 ELSE 50 + (n * 37) %% 45000 END,
                   (ARRAY['USD', 'USD', 'EUR', 'GBP'])[1 + n %% 4],
                   n %% 10 = 0
            FROM generate_series(1, %(invoices)s) AS n
            """,
            {
                "tenant": tenant_id,
                "first": first_customer,
                "customers": customers,
                "invoices": invoices,
                "today": today,
            },
        )
        counted = _has_column("communications_outboundemail", "counted_status")
        cursor.execute(
            f"""
            INSERT INTO communications_outboundemail
                (tenant_id, customer_id, kind, reminder_date, to_addresses, cc_addresses,
                 subject, body_text, body_html, message_id, status, tries, next_attempt_at,
                 lease_owner, lease_expires_at, send_started, claims, sent_at, error_code,
                 error_message, smtp_code, smtp_reply, created_at, updated_at
                 {", counted_status" if counted else ""})
            SELECT %(tenant)s, %(first)s + (n %% %(customers)s),
                   CASE WHEN n %% 5 = 0 THEN 'manual' ELSE 'reminder' END,
                   CASE WHEN n %% 5 = 0 THEN NULL
                        ELSE %(today)s::date - (n / %(customers)s) END,
                   jsonb_build_array('ap' || (n %% %(customers)s + 1) || '@client'
                                     || ((n %% %(customers)s + 1) %% 97) || '.example'),
                   '[]'::jsonb,
                   'Payment reminder from {spec["name"]}: ' || (1 + n %% 7)
                       || ' invoices overdue',
                   'Dear customer, invoices are overdue.', '',
                   '<bench-' || %(tenant)s || '-' || n || '@yaypay.bench>',
                   s.status, 1, t.at, '', NULL, s.status = 'sent', 0,
                   CASE WHEN s.status = 'sent' THEN t.at END,
                   CASE WHEN s.status = 'error' THEN 'recipient_refused' ELSE '' END,
                   CASE WHEN s.status = 'error'
                        THEN 'The server refused the recipient address.' ELSE '' END,
                   CASE WHEN s.status = 'error' THEN 550 END,
                   CASE WHEN s.status = 'error' THEN '5.1.1 User unknown' ELSE '' END,
                   t.at, t.at
                   {", s.status" if counted else ""}
            FROM generate_series(1, %(emails)s) AS n,
                 LATERAL (SELECT now() - (%(emails)s - n) * (interval '365 days' / %(emails)s)
                          AS at) AS t,
                 LATERAL (SELECT CASE WHEN n %% 100 < 90 THEN 'sent'
                                      WHEN n %% 100 < 95 THEN 'error'
                                      WHEN n %% 100 < 98 THEN 'cancelled'
                                      ELSE 'queued' END AS status) AS s
            """,
            {
                "tenant": tenant_id,
                "first": first_customer,
                "customers": customers,
                "emails": emails,
                "today": today,
            },
        )
        print(
            f"  filled {spec['name']}: {emails:,} emails, {customers:,} customers, "
            f"{invoices:,} invoices in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    return tenant_id


def _has_column(table: str, column: str) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        return column in {
            c.name for c in connection.introspection.get_table_description(cursor, table)
        }


def prepare(specs: list[dict], reuse: bool) -> dict[str, int]:
    from django.core.management import call_command
    from django.db import connection

    from yaypay_mail.models import Tenant

    existing = dict(Tenant.objects.values_list("name", "pk"))
    if reuse and all(spec["name"] in existing for spec in specs):
        print("  reusing the filled database")
        return {spec["name"]: existing[spec["name"]] for spec in specs}
    ids = {spec["name"]: fill(spec) for spec in specs}
    started = time.perf_counter()
    call_command("rebuild_rollups", stdout=open(os.devnull, "w"))  # noqa: SIM115
    print(f"  rebuild_rollups: {time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return ids


def pages_for(tenant_id: int) -> list[tuple[str, str]]:
    """(label, URL) of every page timed, for this tenant's data."""
    from outbox.models import OutboundEmail
    from yaypay_mail.models import Customer
    from yaypay_mail.paging import AFTER, encode_cursor

    customer_ids = list(
        Customer.objects.filter(tenant_id=tenant_id).order_by("id").values_list("id", flat=True)
    )
    customer = customer_ids[len(customer_ids) // 2]
    position = customer_ids.index(customer)
    # Page 50 of the default list: the cursor after its 2,450th email.
    boundary = (
        OutboundEmail.objects.filter(tenant_id=tenant_id)
        .order_by("-created_at", "-id")
        .values_list("created_at", "id")[49 * 50 - 1]
    )
    deep = encode_cursor(AFTER, *boundary)
    address = f"ap{position + 1}@client{(position + 1) % 97}.example"
    today = datetime.date.today()
    week_ago = (today - datetime.timedelta(days=6)).isoformat()
    month_ago = (today - datetime.timedelta(days=30)).isoformat()
    quarter_ago = (today - datetime.timedelta(days=89)).isoformat()
    pages = [
        ("Dashboard /", "/"),
        ("Communications", "/communications/"),
        ("Communications ?page=50 (old link)", "/communications/?page=50"),
        ("Communications, page 50 (cursor)", f"/communications/?cursor={deep}"),
        ("Communications ?q=<address>", f"/communications/?q={address}"),
        ("Communications ?q=<2 letters>", "/communications/?q=ap"),
        ("Communications ?q=<subject word>", "/communications/?q=overdue"),
        ("Communications ?customer=", f"/communications/?customer={customer}"),
        ("Communications ?kind=manual", "/communications/?kind=manual"),
        ("Communications, last 7 days", f"/communications/?date_from={week_ago}"),
        # 90 days: enough for a full page of Errors at 10k too (5 % of ~2,500 emails), so
        # both tenants show the same 50 rows, as every other row of this table does.
        (
            "Communications, Errors of the last 90 days",
            f"/communications/?status=error&date_from={quarter_ago}",
        ),
        (
            "Communications, one day a month ago",
            f"/communications/?date_from={month_ago}&date_to={month_ago}",
        ),
        ("Email detail", f"/communications/{boundary[1]}/"),
        ("Bulk resend confirmation, Errors", "/communications/resend/?all_matching=1&status=error"),
        ("Customer type-ahead ?q=Cust", "/customers/suggest/?q=Cust"),
    ]
    pages += [
        (f"Communications ?status={status}", f"/communications/?status={status}")
        for status in ("queued", "sending", "sent", "error", "cancelled")
    ]
    pages += [
        ("Statement", f"/customers/{customer}/"),
        ("Statement, EMAILS tab", f"/customers/{customer}/?tab=emails"),
        ("Aging Report", "/reports/aging/"),
        ("Aging Report, sort=name", "/reports/aging/?sort=name"),
        ("Aging Report, sort=total", "/reports/aging/?sort=total"),
        ("Aging Report, EUR", "/reports/aging/?currency=EUR"),
        ("Customers", "/customers/"),
        ("Customers ?q=", "/customers/?q=Customer%201"),
        ("Customers ?paused=", "/customers/?paused=1"),
    ]
    return pages


def timed(client, url: str, runs: int) -> tuple[float | None, int, int]:
    """Median milliseconds of `runs` warm requests (None when the page is not 200), the
    status code and the body's size."""
    response = client.get(url)
    if response.status_code != 200:
        return None, response.status_code, len(response.content)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), response.status_code, len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--emails", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="keep an already filled database")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yaypay_bench_pages"
        ),
    )
    args = parser.parse_args()
    large = {
        "name": "Large",
        "emails": args.emails,
        "customers": args.customers,
        "invoices": args.invoices,
    }
    setup_django(args.database_url, args.reuse)
    print(
        f"Small: {SMALL['emails']:,} emails, {SMALL['customers']:,} customers; "
        f"Large: {large['emails']:,} emails, {large['customers']:,} customers, "
        f"{large['invoices']:,} invoices. PostgreSQL, DEBUG off, median of {args.runs}.",
        flush=True,
    )
    ids = prepare([SMALL, large], args.reuse)

    from django.contrib.auth.models import User
    from django.test import Client

    clients = {}
    for spec in (SMALL, large):
        client = Client()
        client.force_login(User.objects.get(email=f"admin@{spec['name'].lower()}.example"))
        clients[spec["name"]] = client

    small_pages = pages_for(ids["Small"])
    large_pages = pages_for(ids["Large"])
    print()
    print(f"| page | {SMALL['emails'] // 1000}k | {large['emails'] // 1000:,}k | ratio |")
    print("| --- | --- | --- | --- |")
    worst, worst_ratio, failures = 0.0, 0.0, []
    for (label, small_url), (_, large_url) in zip(small_pages, large_pages, strict=True):
        small_ms, small_status, _ = timed(clients["Small"], small_url, args.runs)
        large_ms, large_status, large_size = timed(clients["Large"], large_url, args.runs)
        if small_ms is None or large_ms is None:
            print(f"| {label} | HTTP {small_status} | HTTP {large_status} | not built |")
            continue
        ratio = large_ms / small_ms
        worst, worst_ratio = max(worst, large_ms), max(worst_ratio, ratio)
        if ratio > 1.5:
            failures.append(label)
        print(
            f"| {label} | {small_ms:.1f} ms | {large_ms:.1f} ms "
            f"({large_size / 1024:.0f} KB) | {ratio:.2f}x |",
            flush=True,
        )
    print()
    print(f"worst page at {large['emails']:,} emails: {worst:.1f} ms (goal < 150 ms)")
    print(f"largest ratio: {worst_ratio:.2f}x (goal <= 1.5x)")
    if failures:
        print("over 1.5x: " + ", ".join(failures))


if __name__ == "__main__":
    main()
