"""/customers/: search, the paused filter, open balances per currency, the last reminder,
and keyset paging that never counts or skips by offset."""

from __future__ import annotations

import base64
import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outbox.models import Kind, Status
from tests.page_data import make_customer, make_email, make_invoice
from yaypay_mail.models import Customer

DUE = datetime.date(2026, 1, 15)


def listed(client, **params) -> list[str]:
    """The customer names the page shows, in order."""
    response = client.get("/customers/", params)
    assert response.status_code == 200
    return [row.customer.name for row in response.context["page"].rows]


def row_html(page: str, customer: Customer) -> str:
    match = re.search(
        rf'<tr class="customer-row" id="customer-{customer.pk}">(.*?)</tr>', page, re.S
    )
    assert match, f"{customer.name} is not listed"
    return match.group(1)


@pytest.fixture
def cast(tenant_a, tenant_b):
    initech = make_customer(
        tenant_a, "Initech", external_id="C-100", billing_email="ap@initech.example"
    )
    hooli = make_customer(
        tenant_a,
        "Hooli",
        external_id="C-200",
        billing_email="payables@hooli.example",
        reminders_paused=True,
        pause_reason="Disputed INV-7",
    )
    umbrella = make_customer(tenant_a, "Umbrella", billing_email="money@umbrella.example")
    make_customer(tenant_b, "Globex Customer", billing_email="ap@initech.example")
    return {"initech": initech, "hooli": hooli, "umbrella": umbrella}


def test_a_collector_sees_the_tenants_customers_by_name_with_links_to_statements(
    collector_client_a, cast
):
    response = collector_client_a.get("/customers/")
    page = response.content.decode()
    assert listed(collector_client_a) == ["Hooli", "Initech", "Umbrella"]
    assert "Globex Customer" not in page
    initech = row_html(page, cast["initech"])
    assert f'<a href="/customers/{cast["initech"].pk}/">Initech</a>' in initech
    assert "C-100" in initech and "ap@initech.example" in initech
    assert "Paused</span>: Disputed INV-7" in row_html(page, cast["hooli"])
    assert "Active" in row_html(page, cast["umbrella"])
    assert 'href="/customers/" aria-current="page">Customers</a>' in page  # the nav link


@pytest.mark.parametrize(
    "q,expected",
    [
        ("initech", ["Initech"]),  # name, any case
        ("c-2", ["Hooli"]),  # external id, any case
        ("MONEY@", ["Umbrella"]),  # billing email, any case
        (".example", ["Hooli", "Initech", "Umbrella"]),
        ("  hoo  ", ["Hooli"]),  # surrounding spaces ignored
        ("nobody", []),
    ],
)
def test_search_matches_name_external_id_or_billing_email(collector_client_a, cast, q, expected):
    assert listed(collector_client_a, q=q) == expected


def test_a_search_with_no_match_says_so(collector_client_a, cast):
    page = collector_client_a.get("/customers/", {"q": "nobody"}).content.decode()
    assert "No customers match." in page
    assert 'value="nobody"' in page


def test_the_paused_filter(collector_client_a, cast):
    assert listed(collector_client_a, paused="1") == ["Hooli"]
    assert listed(collector_client_a, paused="0") == ["Initech", "Umbrella"]
    assert listed(collector_client_a, paused="0", q="hooli") == []
    page = collector_client_a.get("/customers/", {"paused": "1"}).content.decode()
    assert '<option value="1" selected>Paused</option>' in page


def test_open_balances_are_per_currency_with_credits_netted_in_and_paid_left_out(
    collector_client_a, cast
):
    initech = cast["initech"]
    make_invoice(initech, "INV-1", due_on=DUE, open_balance="100.50")
    make_invoice(initech, "INV-2", due_on=DUE, open_balance="20.25")
    make_invoice(initech, "CR-1", due_on=DUE, open_balance="-30.00")  # a credit
    make_invoice(initech, "INV-3", due_on=DUE, open_balance="70.00", currency="EUR")
    make_invoice(initech, "INV-PAID", due_on=DUE, paid=True)
    make_invoice(cast["hooli"], "H-CR", due_on=DUE, open_balance="-15.00")

    response = collector_client_a.get("/customers/")
    rows = {row.customer.name: row.balances for row in response.context["page"].rows}
    assert [(c, str(total)) for c, total in rows["Initech"]] == [("EUR", "70.00"), ("USD", "90.75")]
    assert [(c, str(total)) for c, total in rows["Hooli"]] == [("USD", "-15.00")]
    assert rows["Umbrella"] == []
    page = response.content.decode()
    # Written the tenant's way (en_US by default): the currency's sign, thousands separators.
    assert "<div>€70.00</div><div>$90.75</div>" in row_html(page, initech)
    assert "<div>-$15.00</div>" in row_html(page, cast["hooli"])


def test_the_last_reminder_is_the_newest_reminder_by_created_at(collector_client_a, tenant_a, cast):
    older = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC)
    newer = datetime.datetime(2026, 3, 8, 9, 0, tzinfo=datetime.UTC)
    initech, hooli = cast["initech"], cast["hooli"]
    make_email(tenant_a, customer=initech, kind=Kind.REMINDER, status=Status.SENT, created_at=newer)
    make_email(
        tenant_a, customer=initech, kind=Kind.REMINDER, status=Status.ERROR, created_at=older
    )
    # A manual email is newer still, but it is not a reminder.
    make_email(tenant_a, customer=initech, kind=Kind.MANUAL, status=Status.QUEUED)
    failed = make_email(
        tenant_a, customer=hooli, kind=Kind.REMINDER, status=Status.ERROR, created_at=newer
    )

    page = collector_client_a.get("/customers/").content.decode()
    initech_row = row_html(page, initech)
    assert 'class="status status-sent">Sent</a>' in initech_row
    assert "Mar 8, 2026" in initech_row and "Error" not in initech_row
    hooli_row = row_html(page, hooli)
    assert f'<a href="/communications/{failed.pk}/" class="status status-error">Error</a>' in (
        hooli_row
    )
    never_reminded = row_html(page, cast["umbrella"])
    assert re.search(r'class="last-reminder"[^>]*>\s*—\s*</td>', never_reminded)
    assert "None" not in never_reminded


def test_the_page_runs_the_same_few_queries_for_3_or_50_customers_and_never_counts(
    collector_client_a, tenant_a, cast
):
    def queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert collector_client_a.get("/customers/").status_code == 200
        return [query["sql"] for query in captured]

    few = queries()
    for number in range(47):
        customer = make_customer(tenant_a, f"Bulk {number:02}")
        make_invoice(customer, f"B-{number}", due_on=DUE)
        make_email(tenant_a, customer=customer, kind=Kind.REMINDER)
    many = queries()
    assert len(many) == len(few)
    assert not [sql for sql in many if "COUNT(" in sql.upper()]
    assert not [sql for sql in many if "OFFSET" in sql.upper()]


def page_names_and_next(client, url: str) -> tuple[list[str], str | None]:
    response = client.get(url)
    assert response.status_code == 200
    names = [row.customer.name for row in response.context["page"].rows]
    match = re.search(r'<a href="([^"]+)" rel="next">Next</a>', response.content.decode())
    return names, match.group(1).replace("&amp;", "&") if match else None


def test_keyset_pages_cover_every_customer_once_in_order(collector_client_a, tenant_a):
    # 120 customers, with names shared by several (the id breaks the ties).
    for number in range(120):
        make_customer(tenant_a, f"Customer {number // 3:03}", billing_email=f"c{number}@x.example")
    expected = list(
        Customer.objects.filter(tenant=tenant_a).order_by("name", "id").values_list("pk", flat=True)
    )

    seen: list[int] = []
    url: str | None = ""
    pages = 0
    while url is not None:
        response = collector_client_a.get(f"/customers/{url}")
        seen += [row.customer.pk for row in response.context["page"].rows]
        pages += 1
        match = re.search(r'<a href="([^"]+)" rel="next">Next</a>', response.content.decode())
        url = match.group(1).replace("&amp;", "&") if match else None
    assert pages == 3
    assert seen == expected  # no duplicates, no misses, in order


def test_previous_and_first_page_links_go_back(collector_client_a, tenant_a):
    for number in range(101):
        make_customer(tenant_a, f"Customer {number:03}")
    first = collector_client_a.get("/customers/").content.decode()
    assert 'rel="prev"' not in first and 'rel="first"' not in first
    next_link = re.search(r'<a href="\?([^"]+)" rel="next">', first).group(1)
    second = collector_client_a.get(f"/customers/?{next_link.replace('&amp;', '&')}")
    assert second.context["page"].rows[0].customer.name == "Customer 050"
    html = second.content.decode()
    assert '<a href="/customers/" rel="first">First page</a>' in html
    prev_link = re.search(r'<a href="\?([^"]+)" rel="prev">', html).group(1)
    back = collector_client_a.get(f"/customers/?{prev_link.replace('&amp;', '&')}")
    names = [row.customer.name for row in back.context["page"].rows]
    assert names == [f"Customer {number:03}" for number in range(50)]
    assert 'rel="next"' in back.content.decode()


def test_paging_keeps_the_search_and_filter(collector_client_a, tenant_a):
    for number in range(60):
        make_customer(tenant_a, f"Paused {number:02}", reminders_paused=True)
        make_customer(tenant_a, f"Active {number:02}")
    names, next_url = page_names_and_next(collector_client_a, "/customers/?q=00&paused=1")
    assert names == ["Paused 00"]
    assert next_url is None
    names, next_url = page_names_and_next(collector_client_a, "/customers/?paused=1")
    assert len(names) == 50 and all(name.startswith("Paused") for name in names)
    assert next_url.startswith("?paused=1&cursor=")
    names, next_url = page_names_and_next(collector_client_a, f"/customers/{next_url}")
    assert names == [f"Paused {number}" for number in range(50, 60)]
    assert next_url is None


def test_an_old_page_number_answers_the_first_page(collector_client_a, tenant_a):
    for number in range(120):
        make_customer(tenant_a, f"Customer {number:03}")
    with CaptureQueriesContext(connection) as captured:
        names, _next = page_names_and_next(collector_client_a, "/customers/?page=3")
    assert names == [f"Customer {number:03}" for number in range(50)]
    assert not [q for q in captured if "OFFSET" in q["sql"].upper()]


@pytest.mark.parametrize(
    "params,message",
    [
        ({"q": "ini\x00tech"}, "It contains a NUL character, which is not allowed."),
        ({"q": "x" * 201}, "It is too long (at most 200 characters)."),
        ({"paused": "maybe"}, "Choose All, Paused or Active."),
        ({"cursor": "not-a-cursor!"}, "It is not a page of this list"),
        (
            {"cursor": base64.urlsafe_b64encode(b'["a","Initech",-1]').decode()},
            "It is not a page of this list",
        ),
        ({"cursor": "\x00"}, "It contains a NUL character, which is not allowed."),
        ({"page": "\x00"}, "It contains a NUL character, which is not allowed."),
    ],
)
def test_bad_query_values_are_refused_with_400_and_run_no_customer_query(
    collector_client_a, cast, params, message
):
    with CaptureQueriesContext(connection) as captured:
        response = collector_client_a.get("/customers/", params)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'role="alert" id="filter-errors"' in page
    assert "Initech" not in page
    customer_table = f'FROM "{Customer._meta.db_table}"'
    assert not [q for q in captured if customer_table in q["sql"]]
