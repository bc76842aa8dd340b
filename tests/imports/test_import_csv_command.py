"""import_csv: the page's rules and messages from a shell, with its exit status."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.imports.conftest import CUSTOMERS_HEADER, INVOICES_HEADER, csv_bytes
from yaypay_mail.models import Customer, Invoice


def run(path, *options):
    out, err = StringIO(), StringIO()
    call_command("import_csv", str(path), "--tenant", "acme corp", *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path, content: bytes):
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    return path


GOOD = csv_bytes(
    CUSTOMERS_HEADER, "C-1,Northwind,ap@nw.example,,no", "C-2,Contoso,b@c.example,,yes"
)


def test_it_imports_and_prints_counts_and_a_progress_bar(tmp_path, tenant_a):
    out, err = run(write(tmp_path, GOOD), "--kind", "customers")
    assert out.splitlines() == [
        "Preview: 2 new, 0 updated, 0 unchanged customers.",
        "Imported: 2 new, 0 updated, 0 unchanged customers.",
    ]
    assert "checking [" in err and "importing [" in err and "100% 2 rows" in err
    assert Customer.objects.filter(tenant=tenant_a).count() == 2
    out, _ = run(write(tmp_path, GOOD), "--kind", "customers")
    assert "Imported: 0 new, 0 updated, 2 unchanged customers." in out


def test_dry_run_writes_nothing(tmp_path, tenant_a):
    out, _ = run(write(tmp_path, GOOD), "--kind", "customers", "--dry-run")
    assert out.strip() == "Preview: 2 new, 0 updated, 0 unchanged customers."
    assert not Customer.objects.exists()


def test_errors_are_listed_by_line_and_the_exit_status_is_1(tmp_path, tenant_a):
    content = csv_bytes(
        CUSTOMERS_HEADER + ",region",
        "C-1,Northwind,ap@nw.example,,no,EU",
        "C-2,,b@c.example,,yes,US",
        "C-3,Tailspin,not-an-email,,no,US",
    )
    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command(
            "import_csv",
            str(write(tmp_path, content)),
            "--tenant",
            "Acme Corp",
            "--kind",
            "customers",
            stdout=out,
            stderr=StringIO(),
        )
    assert failed.value.returncode == 1
    assert str(failed.value) == (
        "Nothing was imported: 2 rows have errors. Fix them in the file and import it again."
    )
    assert out.getvalue().splitlines() == [
        "Preview: 1 new, 0 updated, 0 unchanged customers.",
        "Ignored columns (not used by the import): region.",
        "  line 3, name: is required",
        "  line 4, billing_email: not-an-email is not a valid email address",
    ]
    assert not Customer.objects.exists()


def test_a_file_that_cannot_be_read_fails_with_the_reason(tmp_path, tenant_a):
    path = write(tmp_path, b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(CommandError, match=r"^Nothing was imported\. This is not a CSV file"):
        run(path, "--kind", "customers")
    with pytest.raises(CommandError, match="The file has no amount column"):
        run(write(tmp_path, b"invoice_number,customer_id,due_date\n"), "--kind", "invoices")


def test_formats_and_full_sync(tmp_path, tenant_a):
    Customer.objects.create(
        tenant=tenant_a, external_id="C-1", name="N", billing_email="a@n.example"
    )
    run(
        write(
            tmp_path,
            csv_bytes(INVOICES_HEADER, 'I-1,C-1,02/01/2026,31/03/2026,"1.234,56","1.234,56",EUR'),
        ),
        "--kind",
        "invoices",
        "--decimal",
        "comma",
        "--date-format",
        "dmy",
    )
    assert str(Invoice.objects.get(number="I-1").amount) == "1234.56"
    out, _ = run(
        write(tmp_path, csv_bytes(INVOICES_HEADER, "I-2,C-1,2026-01-01,2026-02-01,5,5,USD")),
        "--kind",
        "invoices",
        "--sync",
        "full",
    )
    assert "1 invoice will be marked paid: I-1." in out
    assert "Imported: 1 new, 0 updated, 0 unchanged invoices." in out
    assert "1 invoice was marked paid: I-1." in out
    assert Invoice.objects.get(number="I-1").paid is True


def test_an_unknown_tenant_is_an_error(tmp_path, db):
    with pytest.raises(CommandError, match="No tenant named 'Nobody'"):
        call_command(
            "import_csv", str(write(tmp_path, GOOD)), "--tenant", "Nobody", "--kind", "customers"
        )
