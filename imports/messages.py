"""The sentences an import reports, shared by the pages and the import_csv command so
that both say the same thing."""

from __future__ import annotations

from collections.abc import Iterable


def error_line(line: int | None, field: str, message: str) -> str:
    """`line 14, due_date: 31/02/2026 is not a date`."""
    where = f"line {line}" if line else "the file"
    return f"{where}, {field}: {message}" if field else f"{where}: {message}"


def error_lines(errors: Iterable[dict]) -> list[str]:
    return [error_line(e.get("line"), e.get("field", ""), e.get("message", "")) for e in errors]


def counts(kind: str, created: int, updated: int, unchanged: int) -> str:
    return f"{created} new, {updated} updated, {unchanged} unchanged {kind}"


def marked_paid(count: int, *, applied: bool) -> str:
    noun = "invoice" if count == 1 else "invoices"
    verb = ("was" if count == 1 else "were") if applied else "will be"
    return f"{count} {noun} {verb} marked paid"


def unknown_columns(columns: Iterable[str]) -> str:
    return f"Ignored columns (not used by the import): {', '.join(columns)}"


def nothing_imported(error_count: int) -> str:
    rows = "1 row has" if error_count == 1 else f"{error_count} rows have"
    return f"Nothing was imported: {rows} errors. Fix them in the file and import it again."
