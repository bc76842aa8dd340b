"""/reports/aging/export.csv neutralises every cell a spreadsheet would run as a formula,
with the same list of first characters as the Communications export."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
import time_machine

from tests.page_data import make_customer, make_invoice

EXPORT = "/reports/aging/export.csv"
NOW = datetime.datetime(2026, 3, 10, 20, 0, tzinfo=datetime.UTC)


def export(client) -> list[list[str]]:
    with time_machine.travel(NOW, tick=False):
        response = client.get(EXPORT)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize(
    "text,shown",
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("|calc", "'|calc"),
        ("\n=1+2", "'\n=1+2"),
        ("Acme = 1", "Acme = 1"),
    ],
)
def test_formula_cells_are_neutralised(collector_client_a, tenant_a, text, shown):
    customer = make_customer(
        tenant_a, text, external_id=text, reminders_paused=True, pause_reason=text
    )
    make_invoice(customer, "I-1", due_on=datetime.date(2026, 3, 1))
    (row,) = export(collector_client_a)[1:]
    assert row[0] == shown  # customer_id
    assert row[1] == shown  # name
    assert row[11] == shown  # pause reason
