"""import_csv: the Imports page's rules and messages, from a shell. It reads the file
twice, straight from disk: a check (a dry run of the service), then, if every row is
valid and --dry-run is not given, the import, which checks again as it writes."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from imports import messages as say
from imports.forms import DATE_CHOICES, DECIMAL_CHOICES, DELIMITER_CHOICES, ENCODING_CHOICES
from imports.jobs import ImportOptions, error_dicts, run_upsert
from imports.reader import KINDS, CsvFile, FileRejected
from yaypay_mail.models import Tenant
from yaypay_mail.upserts import SYNC_MODES


class Command(BaseCommand):
    help = "Import customers or invoices from a CSV file (the Imports page's rules)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--tenant", required=True, help="the tenant's name")
        parser.add_argument("--kind", required=True, choices=KINDS)
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument("--encoding", default="auto", choices=[c for c, _ in ENCODING_CHOICES])
        parser.add_argument(
            "--delimiter", default="auto", choices=[c for c, _ in DELIMITER_CHOICES]
        )
        parser.add_argument("--decimal", default="point", choices=[c for c, _ in DECIMAL_CHOICES])
        parser.add_argument("--date-format", default="iso", choices=[c for c, _ in DATE_CHOICES])
        parser.add_argument("--sync", default="upsert", choices=SYNC_MODES)

    def handle(self, *args, **opts):
        tenant = Tenant.objects.filter(name__iexact=opts["tenant"].strip()).first()
        if tenant is None:
            raise CommandError(f"No tenant named {opts['tenant']!r}.")
        if opts["sync"] == "full" and opts["kind"] != "invoices":
            raise CommandError("--sync full works with --kind invoices only.")
        options = ImportOptions(
            kind=opts["kind"],
            encoding=opts["encoding"],
            decimal=opts["decimal"],
            date_format=opts["date_format"],
            sync=opts["sync"],
            delimiter=opts["delimiter"],
        )
        check = self._run(opts["file"], tenant, options, dry_run=True, label="checking")
        if check is None or opts["dry_run"] or check.error_count:
            return
        result = self._run(opts["file"], tenant, options, dry_run=False, label="importing")
        if result is not None:
            self.stdout.write(
                f"Imported: {say.counts(options.kind, result.created, result.updated, result.unchanged)}."
            )
            if options.sync == "full":
                self._marked_paid(result.marked_paid, result.marked_paid_numbers, applied=True)

    def _run(self, path: str, tenant, options: ImportOptions, *, dry_run: bool, label: str):
        try:
            with open(path, "rb") as stream:
                csv_file = CsvFile(
                    stream,
                    kind=options.kind,
                    encoding=options.encoding,
                    delimiter=options.delimiter,
                )
                bar = ProgressBar(label, csv_file, self.stderr)
                report = run_upsert(
                    tenant=tenant,
                    records=csv_file if dry_run else _unchanged(csv_file),
                    options=options,
                    dry_run=dry_run,
                    progress=bar,
                )
                bar.finish(csv_file.rows_read)
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except FileRejected as error:
            raise CommandError(f"Nothing was imported. {error}") from None
        errors = sorted(
            error_dicts(csv_file.errors) + error_dicts(report.errors), key=lambda e: e["line"]
        )
        error_count = csv_file.error_count + report.error_count
        if dry_run:
            self.stdout.write(
                f"Preview: {say.counts(options.kind, report.created, report.updated, report.unchanged)}."
            )
            if options.sync == "full":
                self._marked_paid(report.marked_paid, report.marked_paid_numbers, applied=False)
            if csv_file.unknown_columns:
                self.stdout.write(f"{say.unknown_columns(csv_file.unknown_columns)}.")
        if error_count:
            for line in say.error_lines(errors):
                self.stdout.write(f"  {line}")
            if error_count > len(errors):
                self.stdout.write(f"  and {error_count - len(errors)} more.")
            raise CommandError(say.nothing_imported(error_count))
        report.error_count = error_count
        return report

    def _marked_paid(self, count: int, numbers: list[str], *, applied: bool) -> None:
        listed = f": {', '.join(numbers)}" if numbers else ""
        more = " ..." if count > len(numbers) else ""
        self.stdout.write(f"{say.marked_paid(count, applied=applied)}{listed}{more}.")


def _unchanged(csv_file: CsvFile):
    """The records of a file that passed the check; a row that cannot be read now (the
    file was changed in between) stops the import, so that nothing is written."""
    for record in csv_file:
        if csv_file.error_count:
            break
        yield record
    if csv_file.error_count:
        raise FileRejected("the file changed after it was checked; run the command again")


class ProgressBar:
    """A tqdm-like bar on stderr: how far into the file, and rows done."""

    WIDTH = 30

    def __init__(self, label: str, csv_file: CsvFile, out):
        self.label = label
        self.csv_file = csv_file
        self.out = out
        self.last = 0.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last >= 0.2:
            self.last = now
            self._draw(self.csv_file.fraction_read(), done, ending="")

    def finish(self, done: int) -> None:
        self._draw(1.0, done, ending="\n")

    def _draw(self, fraction: float, done: int, *, ending: str) -> None:
        filled = int(self.WIDTH * fraction)
        self.out.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
            f"{fraction:4.0%} {done} rows",
            ending=ending,
        )
        if hasattr(sys.stderr, "flush"):
            self.out.flush()
