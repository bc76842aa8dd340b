"""Communications ?kind= and ?date_from=/?date_to= (days in the tenant's time zone, both
included), on the list and the CSV export; bad days are refused with a message and run
no outbox query; on PostgreSQL each is served by an index (docs/performance.md)."""

from __future__ import annotations

import csv
import datetime
import io
import json
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outbox.models import Kind, OutboundEmail, Status
from outbox.selectors import emails_for_tenant
from tests.page_data import make_customer, make_email
from yaypay_mail.models import Tenant

LIST = "/communications/"
EXPORT = "/communications/export.csv"
BERLIN = ZoneInfo("Europe/Berlin")


def at(day: str, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(
        datetime.date.fromisoformat(day), datetime.time(hour, minute), tzinfo=BERLIN
    )


@pytest.fixture
def berlin(tenant_a):
    Tenant.objects.filter(pk=tenant_a.pk).update(time_zone="Europe/Berlin")
    return tenant_a


@pytest.fixture
def week(berlin):
    """Emails around the week of Monday 2026-11-23 to Sunday 2026-11-29, Berlin time."""
    return {
        "before": make_email(berlin, subject="Late Sunday", created_at=at("2026-11-22", 23, 59)),
        "first": make_email(
            berlin, subject="Monday midnight", kind=Kind.REMINDER, created_at=at("2026-11-23", 0)
        ),
        "middle": make_email(berlin, subject="Thursday", created_at=at("2026-11-26", 12)),
        "last": make_email(
            berlin, subject="Sunday night", kind=Kind.REMINDER, created_at=at("2026-11-29", 23, 59)
        ),
        "after": make_email(berlin, subject="Next Monday", created_at=at("2026-11-30", 0)),
    }


def listed(client, params) -> list[str]:
    response = client.get(LIST, params)
    assert response.status_code == 200
    return [email.subject for email in response.context["page"].object_list]


def exported(client, params) -> list[str]:
    response = client.get(EXPORT, params)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return [row[4] for row in list(csv.reader(io.StringIO(text)))[1:]]


def test_the_days_are_whole_days_in_the_tenants_zone_both_included(admin_client_a, week):
    week_params = {"date_from": "2026-11-23", "date_to": "2026-11-29"}
    expected = ["Sunday night", "Thursday", "Monday midnight"]
    assert listed(admin_client_a, week_params) == expected
    assert exported(admin_client_a, week_params) == expected


def test_one_open_end(admin_client_a, week):
    assert listed(admin_client_a, {"date_from": "2026-11-29"}) == ["Next Monday", "Sunday night"]
    assert listed(admin_client_a, {"date_to": "2026-11-22"}) == ["Late Sunday"]
    assert listed(admin_client_a, {"date_from": "2026-11-26", "date_to": "2026-11-26"}) == [
        "Thursday"
    ]


def test_the_kind_filter_on_the_list_and_the_export(admin_client_a, week):
    assert listed(admin_client_a, {"kind": "reminder"}) == ["Sunday night", "Monday midnight"]
    assert listed(admin_client_a, {"kind": "manual"}) == ["Next Monday", "Thursday", "Late Sunday"]
    assert exported(admin_client_a, {"kind": "reminder", "date_to": "2026-11-28"}) == [
        "Monday midnight"
    ]


def test_the_form_keeps_the_filters_and_links_carry_them(admin_client_a, week):
    params = {"kind": "reminder", "date_from": "2026-11-23", "date_to": "2026-11-29"}
    page = admin_client_a.get(LIST, params).content.decode()
    assert '<option value="reminder" selected>Payment reminder</option>' in page
    assert 'name="date_from" id="id_date_from" value="2026-11-23"' in page
    assert 'name="date_to" id="id_date_to" value="2026-11-29"' in page
    assert (
        'href="/communications/export.csv?kind=reminder&amp;date_from=2026-11-23'
        '&amp;date_to=2026-11-29"' in page
    )
    assert "Days in Europe/Berlin, both included" in page


def refused(client, url, params) -> str:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 400
    assert not [q for q in queries if OutboundEmail._meta.db_table in q["sql"]]
    return response.content.decode()


@pytest.mark.parametrize(
    "params,message",
    [
        ({"date_from": "23/11/2026"}, "From: It must be a date written YYYY-MM-DD"),
        ({"date_to": "2026-02-30"}, "To: It must be a date written YYYY-MM-DD"),
        ({"date_from": "0001-01-01"}, "From: It must be a date written YYYY-MM-DD"),
        ({"date_to": "9999-12-31"}, "To: It must be a date written YYYY-MM-DD"),
        (
            {"date_from": "2026-11-29", "date_to": "2026-11-23"},
            "To: It must be the same day as From or a later one.",
        ),
        ({"kind": "newsletter"}, "Kind: Choose one of the kinds in the list."),
        ({"date_from": "2026\x00-11-23"}, "From: It contains a NUL character"),
    ],
)
def test_bad_days_and_kinds_are_refused_with_a_message_and_list_nothing(
    admin_client_a, week, params, message
):
    page = refused(admin_client_a, LIST, params)
    assert "Nothing is listed: the page address has values that cannot be used." in page
    assert message in page
    assert "Thursday" not in page
    export = refused(admin_client_a, EXPORT, params)
    assert message in export


def test_a_foreign_customer_with_the_new_filters_still_answers_404(admin_client_b, tenant_a):
    initech = make_customer(tenant_a, "Initech")
    response = admin_client_b.get(LIST, {"customer": initech.pk, "kind": "manual"})
    assert response.status_code == 404
    assert admin_client_b.get(EXPORT, {"customer": initech.pk}).status_code == 404


def test_the_keyset_pages_walk_a_day_range_once_each(admin_client_a, berlin):
    start = at("2026-11-23", 8)
    for n in range(120):
        make_email(berlin, subject=f"Mail {n}", created_at=start + datetime.timedelta(minutes=n))
    make_email(berlin, subject="Outside", created_at=at("2026-11-24", 1))
    seen, params = [], {"date_from": "2026-11-23", "date_to": "2026-11-23"}
    while True:
        response = admin_client_a.get(LIST, params)
        page = response.context["page"]
        if page.has_next:  # the Next link keeps the days
            assert "date_from=2026-11-23&amp;date_to=2026-11-23&amp;cursor=" in (
                response.content.decode()
            )
        seen += [email.subject for email in page.object_list]
        if not page.has_next:
            break
        params = {**params, "cursor": page.next_cursor}
    assert seen == [f"Mail {n}" for n in reversed(range(120))]


# --- EXPLAIN on PostgreSQL ----------------------------------------------------------------

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="EXPLAIN plans are checked on PostgreSQL only (DATABASE_URL=postgres://...)",
)


def plan_nodes(queryset) -> list[dict]:
    plan = json.loads(queryset[:51].explain(format="json"))[0]["Plan"]
    nodes, stack = [], [plan]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    return nodes


def index_scans(nodes) -> dict[str, dict]:
    scans = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
    return {n["Index Name"]: n for n in nodes if n["Node Type"] in scans}


def outbox_seq_scans(nodes) -> list[dict]:
    table = OutboundEmail._meta.db_table
    return [n for n in nodes if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == table]


@pytest.fixture
def big_outbox(tenant_a):
    from django.utils import timezone

    now = timezone.now()
    OutboundEmail.objects.bulk_create(
        [
            OutboundEmail(
                tenant=tenant_a,
                kind=Kind.MANUAL if n % 50 == 0 else Kind.REMINDER,
                to_addresses=[f"ap{n}@customer.example"],
                subject=f"Invoice {n}",
                body_text="Dear customer,",
                message_id=f"<kind-{n}@acme.example>",
                status=Status.ERROR if n % 4 == 0 else Status.SENT,
                next_attempt_at=now,
            )
            for n in range(6000)
        ],
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {OutboundEmail._meta.db_table} SET created_at = now() - id * interval '1 hour'"
        )
        cursor.execute(f"ANALYZE {OutboundEmail._meta.db_table}")


@postgresql_only
def test_the_kind_filter_is_served_by_its_index(tenant_a, big_outbox):
    nodes = plan_nodes(emails_for_tenant(tenant_a, kind=Kind.MANUAL))
    scans = index_scans(nodes)
    assert "outbox_tenant_kind_created" in scans, nodes
    assert "kind" in scans["outbox_tenant_kind_created"]["Index Cond"]
    assert not outbox_seq_scans(nodes)
    assert not [n for n in nodes if n["Node Type"] == "Sort"]


LIST_INDEXES = {
    "outbox_tenant_created",
    "outbox_tenant_status_created",
    "outbox_tenant_kind_created",
}


@postgresql_only
def test_the_day_range_is_an_index_condition_of_each_lists_index(tenant_a, big_outbox):
    from django.utils import timezone

    start = timezone.now() - datetime.timedelta(days=30)
    end = timezone.now() - datetime.timedelta(days=23)
    both_kinds = {"outbox_tenant_kind_created", "outbox_tenant_created"}
    for queryset, indexes in (
        (
            emails_for_tenant(tenant_a, created_from=start, created_before=end),
            {"outbox_tenant_created"},
        ),
        (
            emails_for_tenant(
                tenant_a, status=Status.ERROR, created_from=start, created_before=end
            ),
            {"outbox_tenant_status_created"},
        ),
        # A week is a few rows either way: the planner may read them from the tenant's
        # index and drop the other kind.
        (
            emails_for_tenant(tenant_a, kind=Kind.MANUAL, created_from=start, created_before=end),
            both_kinds,
        ),
    ):
        nodes = plan_nodes(queryset)
        # The planner picks among the lists' indexes by its estimates, which other tests'
        # data in the same database can move: the point is that the days bound the scan.
        bounded = {
            name: node
            for name, node in index_scans(nodes).items()
            if name in indexes | LIST_INDEXES and "created_at" in node.get("Index Cond", "")
        }
        assert bounded, {name: node.get("Index Cond") for name, node in index_scans(nodes).items()}
        # The range's rows only are read; the planner may sort those few (docs/performance.md).
        assert not outbox_seq_scans(nodes)
