"""An upload big enough for Django to spool it to a temporary file is read the same way."""

from __future__ import annotations

from tests.imports.conftest import CUSTOMERS_HEADER, csv_bytes
from yaypay_mail.models import Customer


def test_a_three_megabyte_upload_is_staged_and_imported(upload, confirm, tenant_a):
    rows = [f"C-{n},Customer {n:05d} {'x' * 180},ap{n}@example.com,,no" for n in range(12_000)]
    content = csv_bytes(CUSTOMERS_HEADER, *rows)
    assert len(content) > 2_621_440  # FILE_UPLOAD_MAX_MEMORY_SIZE: spooled to disk
    uploaded = upload(content)
    assert "Preview: 12000 new, 0 updated, 0 unchanged customers." in uploaded.page
    assert "Imported: 12000 new" in confirm(uploaded.job)
    assert Customer.objects.filter(tenant=tenant_a).count() == 12_000
