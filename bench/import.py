"""Import benchmark: 100,000 invoices for 20,000 customers through `import_csv`, then the
same file again, against a bare PostgreSQL COPY of that file in the same run.

    .venv/bin/python bench/import.py [--invoices 100000] [--customers 20000]
                                     [--database-url postgres://...]

Runs on PostgreSQL (default postgres://postgres@127.0.0.1:5432/yaypay_bench_import,
recreated). Each import runs `manage.py import_csv` in its own process, the way an
operator would, so its peak memory (VmHWM) is its own. Memory must stay flat in the
file's size: the invoices are imported once more from a file half as long, and the
two peaks are compared. The baseline is `COPY ... FROM STDIN (FORMAT csv)` of the same
invoices file into an unlogged scratch table with the same columns as text, from this
process: what reading the bytes into PostgreSQL costs with no checks at all.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "a1lGd0VtWm9yYjNoOUxpa1ZfS1p2d3l4M0JVR2tGc3E="  # a benchmark-only Fernet key


def write_files(folder: Path, customers: int, invoices: int) -> tuple[Path, Path]:
    customers_csv = folder / "customers.csv"
    with customers_csv.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["customer_id", "name", "billing_email", "cc_emails", "reminders_paused"])
        for n in range(customers):
            writer.writerow(
                [f"C-{n:06d}", f"Customer {n}, Inc.", f"AP{n}@client{n % 97}.example", "", "no"]
            )
    invoices_csv = folder / f"invoices-{invoices}.csv"
    today = datetime.date(2026, 11, 26)
    with invoices_csv.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "invoice_number",
                "customer_id",
                "issue_date",
                "due_date",
                "amount",
                "open_balance",
                "currency",
            ]
        )
        for n in range(invoices):
            due = today - datetime.timedelta(days=n % 120 - 30)
            amount = 100 + (n * 37) % 90_000
            writer.writerow(
                [
                    f"INV-{n:07d}",
                    f"C-{n % customers:06d}",
                    (due - datetime.timedelta(days=30)).isoformat(),
                    due.isoformat(),
                    f"{amount / 100 * 1000:,.2f}",
                    f"{amount / 100 * 500:.2f}",
                    "USD" if n % 5 else "EUR",
                ]
            )
    return customers_csv, invoices_csv


def run_import(env: dict, kind: str, path: Path) -> tuple[float, int, str]:
    """Seconds, peak resident memory (KiB) and the command's last line of output."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "import_csv",
            "--tenant",
            "Bench",
            "--kind",
            kind,
            str(path),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, _vm_hwm(process.pid))
        time.sleep(0.05)
    output = process.stdout.read()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"import_csv {kind} failed:\n{output}")
    return seconds, peak, output.strip().splitlines()[-1] if output.strip() else ""


def _vm_hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def create_tenant(env: dict) -> None:
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "create_tenant",
            "Bench",
            "--admin-email",
            "admin@bench.example",
            "--admin-password",
            "bench-admin-password-2026",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def copy_baseline(database_url: str, path: Path) -> float:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(
            "CREATE UNLOGGED TABLE bench_copy (invoice_number text, customer_id text, "
            "issue_date text, due_date text, amount text, open_balance text, currency text)"
        )
        started = time.perf_counter()
        with conn.cursor() as cursor, path.open("rb") as data:
            with cursor.copy("COPY bench_copy FROM STDIN (FORMAT csv, HEADER true)") as copy:
                while chunk := data.read(1 << 16):
                    copy.write(chunk)
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_copy")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yaypay_bench_import"
        ),
    )
    args = parser.parse_args()

    import psycopg

    name = args.database_url.rsplit("/", 1)[1]
    with psycopg.connect(args.database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DEBUG": "false",
        "SITE_URL": "https://bench.invalid",
        "SECRET_KEY": "bench-" + "s" * 60,
        "FERNET_KEYS": KEY,
        "DATABASE_URL": args.database_url,
        "CELERY_EAGER": "1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("CELERY_BROKER_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    create_tenant(env)

    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    customers_csv, invoices_csv = write_files(folder, args.customers, args.invoices)
    _, half_csv = write_files(folder, args.customers, args.invoices // 2)
    size_mb = invoices_csv.stat().st_size / 1e6
    print(
        f"{args.invoices:,} invoices ({size_mb:.1f} MB) for {args.customers:,} customers, "
        "PostgreSQL, import_csv in its own process"
    )

    seconds, peak, _ = run_import(env, "customers", customers_csv)
    print(f"  customers:            {args.customers / seconds:9,.0f} rows/s  {seconds:6.1f} s")
    first, first_peak, said = run_import(env, "invoices", invoices_csv)
    again, again_peak, said_again = run_import(env, "invoices", invoices_csv)
    copy = copy_baseline(args.database_url, invoices_csv)
    print(
        f"  invoices, first time: {args.invoices / first:9,.0f} rows/s  {first:6.1f} s  "
        f"peak {first_peak / 1024:5.0f} MiB  ({said})"
    )
    print(
        f"  invoices, re-import:  {args.invoices / again:9,.0f} rows/s  {again:6.1f} s  "
        f"peak {again_peak / 1024:5.0f} MiB  ({said_again})"
    )
    print(f"  bare COPY baseline:   {args.invoices / copy:9,.0f} rows/s  {copy:6.1f} s")
    print(
        f"  import / COPY time: first {first / copy:.1f}x, re-import {again / copy:.1f}x; "
        f"re-import / first: {again / first:.2f} (goal <= 1.0); first under 60 s: "
        f"{'yes' if first < 60 else 'no'}"
    )
    subprocess.run(
        [sys.executable, "manage.py", "flush", "--noinput"], cwd=ROOT, env=env, check=True
    )
    create_tenant(env)
    run_import(env, "customers", customers_csv)
    _, half_peak, _ = run_import(env, "invoices", half_csv)
    print(
        f"  memory flat in file size: peak {half_peak / 1024:.0f} MiB for {args.invoices // 2:,} "
        f"rows, {first_peak / 1024:.0f} MiB for {args.invoices:,} "
        f"(ratio {first_peak / max(half_peak, 1):.2f}; 1.0 is flat, 2.0 would be linear)"
    )


if __name__ == "__main__":
    main()
