"""Keyset paging on Communications and the Statement's EMAILS tab: ?cursor= pages newest
first by (created_at, id), 50 at a time, with no OFFSET and no COUNT(*); emails that arrive
while someone pages are never shown twice nor make an older one skipped; a cursor that no
page made is refused with a 400; a page costs the same few queries however many rows."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from outbox.models import OutboundEmail, Status
from tests.page_data import make_customer, make_email
from yaypay_mail.paging import AFTER, BEFORE, decode_cursor, encode_cursor

LIST = "/communications/"
MOMENT = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=datetime.UTC)


def statement(customer) -> str:
    return f"/customers/{customer.pk}/"


@pytest.fixture
def initech(tenant_a):
    return make_customer(tenant_a, "Initech")


def bulk_emails(tenant, count, *, customer=None, same_time=False, start=0, **fields):
    """`count` emails, newest last; with same_time, all at one instant (ties on
    created_at, told apart by id)."""
    rows = []
    for number in range(start, start + count):
        email = make_email(tenant, customer=customer, subject=f"Bulk {number}", **fields)
        rows.append(email)
    if same_time:
        OutboundEmail.objects.filter(pk__in=[e.pk for e in rows]).update(created_at=MOMENT)
    return rows


def walk(client, url, params, *, between=None) -> list[int]:
    """Every id shown by following Next from the first page; `between(n)` runs before
    page n + 1 is fetched."""
    seen: list[int] = []
    cursor = None
    for number in range(100):
        response = client.get(url, {**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        page = response.context["page"]
        assert len(page.object_list) <= 50
        seen.extend(email.pk for email in page.object_list)
        if not page.has_next:
            return seen
        cursor = page.next_cursor
        if between is not None:
            between(number)
    raise AssertionError("paging did not end")


# --- the cursor -----------------------------------------------------------------------


def test_a_cursor_round_trips_and_is_opaque_base64_json():
    stamp = datetime.datetime(2026, 11, 26, 8, 18, 54, 123456, tzinfo=datetime.UTC)
    value = encode_cursor(AFTER, stamp, 42)
    assert "=" not in value
    assert json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) == [
        "a",
        "2026-11-26T08:18:54.123456+00:00",
        42,
    ]
    assert decode_cursor(value) == (AFTER, stamp, 42)
    assert decode_cursor(encode_cursor(BEFORE, stamp, 1)).direction == BEFORE


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


TAMPERED = [
    "not-a-cursor!",
    "%%%",
    b64("not json"),
    b64("{}"),
    b64('["a","2026-11-26T08:18:54+00:00"]'),
    b64('["x","2026-11-26T08:18:54+00:00",1]'),
    b64('["a","2026-11-26T08:18:54",1]'),  # no zone
    b64('["a","yesterday",1]'),
    b64('["a","2026-11-26T08:18:54+00:00",0]'),
    b64('["a","2026-11-26T08:18:54+00:00",-5]'),
    b64('["a","2026-11-26T08:18:54+00:00",99999999999999999999]'),
    b64('["a","2026-11-26T08:18:54+00:00","7"]'),
    b64('["a","2026-11-26T08:18:54+00:00",true]'),
    b64('["a","2026-11-26T08:18:54+00:00",1.5]'),
    b64('["a",20261126,1]'),
    b64("\ufffe\ufffe"),
]


@pytest.mark.parametrize("value", TAMPERED)
def test_a_tampered_cursor_is_refused_with_a_400_and_runs_no_outbox_query(
    admin_client_a, tenant_a, value
):
    make_email(tenant_a, subject="Invoice 1 overdue")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client_a.get(LIST, {"cursor": value})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Page: It is not a page of this list; start again from the first page." in page
    assert "Invoice 1 overdue" not in page
    assert not [q for q in queries if OutboundEmail._meta.db_table in q["sql"]]


def test_a_tampered_cursor_on_the_emails_tab_is_refused_too(collector_client_a, initech):
    response = collector_client_a.get(statement(initech), {"tab": "emails", "cursor": "zzz"})
    assert response.status_code == 400
    assert "Page: It is not a page of this list" in response.content.decode()


def test_an_over_long_or_nul_cursor_is_refused_without_echoing_it(admin_client_a, tenant_a):
    value = "A" * 201
    response = admin_client_a.get(LIST, {"cursor": value})
    assert response.status_code == 400
    assert "Page: It is too long (at most 200 characters)." in response.content.decode()
    assert value not in response.content.decode()
    response = admin_client_a.get(LIST, {"cursor": "ab\x00"})
    assert response.status_code == 400
    assert "Page: It contains a NUL character" in response.content.decode()


def test_a_well_formed_cursor_only_moves_within_the_tenant(admin_client_b, tenant_a, tenant_b):
    mine = make_email(tenant_a, subject="Acme only")
    far_future = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)
    response = admin_client_b.get(LIST, {"cursor": encode_cursor(AFTER, far_future, mine.pk)})
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []
    assert "Acme only" not in response.content.decode()


# --- paging while emails arrive ----------------------------------------------------------


@pytest.mark.parametrize("same_time", [False, True], ids=["distinct-times", "all-tied"])
def test_paging_while_new_emails_arrive_shows_every_older_email_exactly_once(
    admin_client_a, tenant_a, same_time
):
    before = bulk_emails(tenant_a, 130, same_time=same_time)
    arrived = []

    def new_mail(number):
        arrived.extend(bulk_emails(tenant_a, 7, start=1000 + 10 * number))

    seen = walk(admin_client_a, LIST, {}, between=new_mail)
    assert arrived  # mail did arrive between pages
    assert len(seen) == len(set(seen))  # no duplicates
    old_ids = {email.pk for email in before}
    assert [pk for pk in seen if pk in old_ids] == sorted(old_ids, reverse=True)  # no gaps
    assert not set(seen) & {email.pk for email in arrived}  # newer mail waits on page 1


def test_the_order_is_created_at_then_id_descending_across_pages(admin_client_a, tenant_a):
    emails = bulk_emails(tenant_a, 60)
    # Two rows share a time; one is older than all.
    OutboundEmail.objects.filter(pk__in=[emails[10].pk, emails[40].pk]).update(created_at=MOMENT)
    OutboundEmail.objects.filter(pk=emails[59].pk).update(
        created_at=MOMENT - datetime.timedelta(days=1)
    )
    seen = walk(admin_client_a, LIST, {})
    expected = list(
        OutboundEmail.objects.filter(tenant=tenant_a)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )
    assert seen == expected


def test_previous_goes_back_to_the_same_rows_even_after_new_mail(admin_client_a, tenant_a):
    bulk_emails(tenant_a, 120)
    first = admin_client_a.get(LIST).context["page"]
    second = admin_client_a.get(LIST, {"cursor": first.next_cursor}).context["page"]
    third = admin_client_a.get(LIST, {"cursor": second.next_cursor}).context["page"]
    assert len(third.object_list) == 20 and not third.has_next
    bulk_emails(tenant_a, 3, start=500)
    back = admin_client_a.get(LIST, {"cursor": third.previous_cursor}).context["page"]
    assert [e.pk for e in back.object_list] == [e.pk for e in second.object_list]
    back = admin_client_a.get(LIST, {"cursor": back.previous_cursor}).context["page"]
    assert [e.pk for e in back.object_list] == [e.pk for e in first.object_list]
    assert back.has_previous  # the three new emails are newer still
    newest = admin_client_a.get(LIST, {"cursor": back.previous_cursor}).context["page"]
    assert [e.subject for e in newest.object_list] == ["Bulk 502", "Bulk 501", "Bulk 500"]
    assert not newest.has_previous


def test_filters_stay_on_every_page(admin_client_a, tenant_a):
    errors = bulk_emails(tenant_a, 55, status=Status.ERROR)
    bulk_emails(tenant_a, 55, start=100, status=Status.SENT)
    seen = walk(admin_client_a, LIST, {"status": "error", "q": "bulk"})
    assert seen == [email.pk for email in reversed(errors)]


def test_the_emails_tab_pages_by_cursor_while_new_emails_arrive(
    collector_client_a, tenant_a, initech
):
    before = bulk_emails(tenant_a, 110, customer=initech)
    bulk_emails(tenant_a, 5, start=900, customer=make_customer(tenant_a, "Hooli"))

    def new_mail(number):
        bulk_emails(tenant_a, 4, customer=initech, start=2000 + 10 * number)

    seen = walk(collector_client_a, statement(initech), {"tab": "emails"}, between=new_mail)
    assert seen == [email.pk for email in reversed(before)]


def test_the_emails_tab_answers_an_old_page_number_with_the_first_page(
    collector_client_a, tenant_a, initech
):
    emails = bulk_emails(tenant_a, 55, customer=initech)
    response = collector_client_a.get(statement(initech), {"tab": "emails", "page": 2})
    assert response.status_code == 200
    page = response.context["page"]
    assert [e.pk for e in page.object_list] == [e.pk for e in reversed(emails)][:50]
    assert page.has_next and not page.has_previous
    assert "Page 1 of" not in response.content.decode()


# --- no OFFSET, no COUNT(*), a fixed number of queries ------------------------------------


def outbox_queries(queries) -> list[str]:
    table = OutboundEmail._meta.db_table
    return [q["sql"] for q in queries if table in q["sql"]]


@pytest.mark.parametrize("params", [{}, {"page": 3}, {"status": "sent", "q": "bulk"}])
def test_a_list_page_is_one_outbox_query_without_offset_or_count(admin_client_a, tenant_a, params):
    bulk_emails(tenant_a, 120)
    with CaptureQueriesContext(connection) as queries:
        first = admin_client_a.get(LIST, params)
    with CaptureQueriesContext(connection) as later_queries:
        admin_client_a.get(LIST, {**params, "cursor": first.context["page"].next_cursor})
    for captured in (queries, later_queries):
        (sql,) = outbox_queries(captured)
        assert "OFFSET" not in sql.upper()
        assert "COUNT(" not in sql.upper()
        assert "LIMIT 51" in sql.upper()


def test_the_emails_tab_is_one_outbox_query_without_offset_or_count(
    collector_client_a, tenant_a, initech
):
    bulk_emails(tenant_a, 60, customer=initech)
    with CaptureQueriesContext(connection) as queries:
        collector_client_a.get(statement(initech), {"tab": "emails", "page": 2})
    (sql,) = outbox_queries(queries)
    assert "OFFSET" not in sql.upper() and "COUNT(" not in sql.upper()


# Measured: session, user, membership + tenant, the page (outbox LEFT JOIN customer, one
# query for 50 rows), reminder settings (the time zone). The EMAILS tab adds the customer
# and its change history. A query per row (an N+1) would add 50.
LIST_QUERIES = 5
STATEMENT_QUERIES = 7


def test_communications_runs_a_fixed_number_of_queries_for_fifty_rows(
    admin_client_a, tenant_a, django_assert_max_num_queries
):
    for number in range(60):
        customer = make_customer(tenant_a, f"Customer {number}")
        make_email(tenant_a, customer=customer, status=Status.ERROR, subject=f"Bulk {number}")
    admin_client_a.get(LIST)  # warm per-process caches (content types, settings rows)
    with django_assert_max_num_queries(LIST_QUERIES):
        response = admin_client_a.get(LIST)
    assert len(response.context["page"].object_list) == 50
    cursor = response.context["page"].next_cursor
    with django_assert_max_num_queries(LIST_QUERIES):
        admin_client_a.get(LIST, {"cursor": cursor, "status": "error"})


def test_the_emails_tab_runs_a_fixed_number_of_queries_for_fifty_rows(
    collector_client_a, tenant_a, initech, django_assert_max_num_queries
):
    bulk_emails(tenant_a, 60, customer=initech, status=Status.ERROR)
    collector_client_a.get(statement(initech), {"tab": "emails"})
    with django_assert_max_num_queries(STATEMENT_QUERIES):
        response = collector_client_a.get(statement(initech), {"tab": "emails"})
    assert len(response.context["page"].object_list) == 50
    with django_assert_max_num_queries(STATEMENT_QUERIES):
        collector_client_a.get(
            statement(initech), {"tab": "emails", "cursor": response.context["page"].next_cursor}
        )


def test_the_cursor_time_survives_a_time_zone_round_trip(admin_client_a, tenant_a):
    emails = bulk_emails(tenant_a, 51)
    page = admin_client_a.get(LIST).context["page"]
    cursor = decode_cursor(page.next_cursor)
    assert cursor.created_at == emails[1].created_at
    assert cursor.created_at.tzinfo is not None
    assert timezone.is_aware(cursor.created_at)
