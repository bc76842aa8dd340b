"""The CSV reader on its own: physical line numbers, blank lines, spaces, encodings."""

from __future__ import annotations

import io

import pytest

from imports.reader import CsvFile, FileRejected


def read(content: bytes, kind: str = "customers", **options) -> tuple[CsvFile, list]:
    csv_file = CsvFile(io.BytesIO(content), kind=kind, **options)
    return csv_file, list(csv_file)


def test_records_start_at_their_physical_line_after_quoted_line_breaks():
    content = (
        b"Customer_ID , Name,billing_email,Notes\r\n"
        b'C-1,"Acme, Inc.",ap@acme.example,"first line\r\nsecond line\r\nthird"\r\n'
        b"\r\n"
        b'C-2,"The ""Best"" Co",ap@best.example,\r\n'
        b" , , , \r\n"
        b"C-3,  Spaced  ,  ap@spaced.example  ,x\r\n"
    )
    csv_file, records = read(content)
    assert [r.position for r in records] == [2, 6, 8]
    assert records[0].values == {
        "customer_id": "C-1",
        "name": "Acme, Inc.",
        "billing_email": "ap@acme.example",
    }
    assert records[1].values["name"] == 'The "Best" Co'
    assert records[2].values == {
        "customer_id": "C-3",
        "name": "Spaced",
        "billing_email": "ap@spaced.example",
    }
    assert csv_file.unknown_columns == ["Notes"]
    assert csv_file.columns == ["customer_id", "name", "billing_email"]


def test_an_empty_cell_of_a_present_column_is_passed_as_empty():
    _, records = read(b"customer_id,name,billing_email,cc_emails\nC-1,A,a@a.example,\n")
    assert records[0].values["cc_emails"] == ""


def test_a_bom_is_dropped_and_windows_1252_is_detected():
    _, records = read(b"\xef\xbb\xbfcustomer_id,name,billing_email\nC-1,Caf\xc3\xa9,a@a.example\n")
    assert records[0].values["customer_id"] == "C-1" and records[0].values["name"] == "Café"
    csv_file, records = read(
        "customer_id,name,billing_email\nC-1,Café €,a@a.example\n".encode("cp1252")
    )
    assert csv_file.encoding == "windows-1252" and records[0].values["name"] == "Café €"


def test_a_row_with_the_wrong_number_of_values_is_an_error_on_its_line():
    csv_file, records = read(b"customer_id,name,billing_email\nC-1,A,a@a.example\nC-2,B,1,234\n")
    assert [r.position for r in records] == [2]
    (error,) = csv_file.errors
    assert error.position == 3
    assert error.message == (
        "has 4 values but the header has 3 columns (is a comma inside a value not quoted?)"
    )


def test_a_file_without_a_required_column_is_refused_naming_it():
    with pytest.raises(FileRejected) as refused:
        read(b"invoice_number,customer_id,due_date\nI-1,C-1,2026-01-01\n", kind="invoices")
    assert str(refused.value).startswith("The file has no amount column.")
