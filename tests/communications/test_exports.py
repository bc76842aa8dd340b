"""/communications/export.csv: the page's filters, streamed in constant memory, formula
cells neutralised, tenant-scoped."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

from communications import exports
from outbox.models import OutboundEmail, Status
from tests.page_data import make_customer, make_email
from yaypay_mail.models import Tenant

EXPORT = "/communications/export.csv"
MOMENT = datetime.datetime(2026, 11, 2, 14, 30, 5, tzinfo=datetime.UTC)


@pytest.fixture
def initech(tenant_a):
    return make_customer(tenant_a, "Initech")


def rows(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_the_export_has_a_header_and_a_row_per_email_in_the_tenants_zone(
    collector_client_a, tenant_a, initech
):
    Tenant.objects.filter(pk=tenant_a.pk).update(time_zone="America/New_York")
    failed = make_email(
        tenant_a,
        customer=initech,
        status=Status.ERROR,
        subject="Invoice 1 overdue",
        to=("ap@initech.example",),
        cc=("cfo@initech.example",),
        created_at=MOMENT,
    )
    OutboundEmail.objects.filter(pk=failed.pk).update(sent_at=None)
    make_email(tenant_a, subject="Sent one", sent_at=MOMENT, created_at=MOMENT)
    response = collector_client_a.get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="communications-')
    table = rows(response)
    assert table[0] == [
        "created_at",
        "status",
        "customer",
        "recipients",
        "subject",
        "error_reason",
        "sent_at",
    ]
    by_subject = {row[4]: row for row in table[1:]}
    row = by_subject["Invoice 1 overdue"]
    assert row[0] == "2026-11-02 09:30:05-05:00"
    assert row[1:4] == ["Error", "Initech", "ap@initech.example, cfo@initech.example"]
    assert row[5].startswith("The mail server refused the username or password.")
    assert row[6] == ""
    assert by_subject["Sent one"][6] == "2026-11-02 09:30:05-05:00"
    assert by_subject["Sent one"][2] == ""


def test_the_export_keeps_the_pages_filters_and_order(admin_client_a, tenant_a, initech):
    other = make_customer(tenant_a, "Hooli")
    wanted = [
        make_email(tenant_a, customer=initech, status=Status.ERROR, subject=f"Invoice {n}")
        for n in range(3)
    ]
    make_email(tenant_a, customer=initech, status=Status.SENT, subject="Invoice sent")
    make_email(tenant_a, customer=other, status=Status.ERROR, subject="Invoice Hooli")
    make_email(tenant_a, customer=initech, status=Status.ERROR, subject="Other thing")
    response = admin_client_a.get(
        EXPORT, {"status": "error", "customer": initech.pk, "q": "invoice", "cursor": "x" * 5}
    )
    # A cursor (even a bad one) is the list's business: the export is not paged.
    assert response.status_code == 400
    response = admin_client_a.get(
        EXPORT, {"status": "error", "customer": initech.pk, "q": "invoice", "page": 4}
    )
    assert [row[4] for row in rows(response)[1:]] == [e.subject for e in reversed(wanted)]


@pytest.mark.parametrize(
    "text,shown",
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("|calc", "'|calc"),
        ("\n=1+2", "'\n=1+2"),
        ("Invoice = 1", "Invoice = 1"),
    ],
)
def test_formula_cells_are_neutralised(admin_client_a, tenant_a, text, shown):
    customer = make_customer(tenant_a, text)
    make_email(
        tenant_a,
        customer=customer,
        status=Status.ERROR,
        subject=text,
        to=(text,),
        error_message=text,
    )
    (row,) = rows(admin_client_a.get(EXPORT))[1:]
    assert row[2] == shown  # customer
    assert row[3] == shown  # recipients
    assert row[4] == shown  # subject
    assert row[5] == shown  # error reason


def test_neutralise():
    assert exports.neutralise("=1") == "'=1"
    assert exports.neutralise("") == ""
    assert exports.neutralise("a=1") == "a=1"


def test_another_tenants_customer_answers_404_and_anonymous_goes_to_login(
    admin_client_b, initech, tenant_a
):
    make_email(tenant_a, customer=initech, subject="Acme secret")
    assert admin_client_b.get(EXPORT, {"customer": initech.pk}).status_code == 404
    response = admin_client_b.get(EXPORT)
    assert "Acme secret" not in b"".join(response.streaming_content).decode()
    anonymous = Client().get(EXPORT)
    assert anonymous.status_code == 302
    assert anonymous.url.startswith("/accounts/login/?next=")


def test_bad_filters_are_refused_with_a_message_and_no_query(admin_client_a):
    with CaptureQueriesContext(connection) as queries:
        response = admin_client_a.get(EXPORT, {"status": "bogus", "q": "a\x00"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Status: Choose one of the statuses in the list." in body
    assert "Subject or recipient: It contains a NUL character" in body
    assert not [q for q in queries if OutboundEmail._meta.db_table in q["sql"]]


def test_the_export_streams_with_iterator_and_never_loads_all_rows(
    admin_client_a, tenant_a, monkeypatch
):
    monkeypatch.setattr(exports, "ROWS_PER_WRITE", 2)
    for number in range(5):
        make_email(tenant_a, subject=f"Bulk {number}")
    calls = []
    original = OutboundEmail.objects.none().__class__.iterator

    def spy(self, chunk_size=None):
        calls.append(chunk_size)
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(OutboundEmail.objects.none().__class__, "iterator", spy)
    response = admin_client_a.get(EXPORT)
    chunks = list(response.streaming_content)
    assert calls == [2000]
    assert len(chunks) == 1 + 3  # the header, then rows two by two
    assert b"Bulk 4" in chunks[1] and b"Bulk 0" in chunks[3]


def test_the_communications_page_links_to_the_export_with_its_filters(
    admin_client_a, tenant_a, initech
):
    make_email(tenant_a, customer=initech)
    page = admin_client_a.get(
        "/communications/", {"status": "sent", "customer": initech.pk, "q": "a b", "junk": "1"}
    ).content.decode()
    assert (
        f'<a href="/communications/export.csv?status=sent&amp;customer={initech.pk}&amp;q=a+b">'
        "Export CSV</a>"
    ) in page


def test_the_export_reads_in_keyset_chunks_and_sees_each_email_once(
    admin_client_a, tenant_a, monkeypatch
):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    emails = [make_email(tenant_a, subject=f"Bulk {number}") for number in range(5)]
    # Two share a time: the chunks must still neither repeat nor skip one.
    OutboundEmail.objects.filter(pk__in=[emails[1].pk, emails[2].pk]).update(created_at=MOMENT)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client_a.get(EXPORT)
        subjects = [row[4] for row in rows(response)[1:]]
    expected = OutboundEmail.objects.order_by("-created_at", "-id").values_list(
        "subject", flat=True
    )
    assert subjects == list(expected)
    outbox = [q["sql"] for q in queries if OutboundEmail._meta.db_table in q["sql"]]
    assert len(outbox) == 3  # 2 + 2 + 1
    assert all("LIMIT 2" in sql and "OFFSET" not in sql for sql in outbox)
