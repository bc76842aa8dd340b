"""Communications list filters: bad query-string values get a 400 with a message and run no
query; Resend forms and paging links carry only the known, cleaned filters."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outbox.models import OutboundEmail, Status
from tests.page_data import make_customer, make_email
from tests.resend_forms import JUNK, query_of, resend_next_values

LIST = "/communications/"
KNOWN = {"status", "customer", "q", "cursor"}


@pytest.fixture
def initech(tenant_a):
    return make_customer(tenant_a, "Initech")


@pytest.fixture
def failures(tenant_a, initech):
    return [
        make_email(tenant_a, customer=initech, status=Status.ERROR, subject=f"Invoice {n} overdue")
        for n in range(3)
    ]


def refused(client, params) -> str:
    """The page for `params`, which must be a 400 that ran no query on the outbox."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, params)
    assert response.status_code == 400
    outbox_table = OutboundEmail._meta.db_table
    assert not [query for query in queries if outbox_table in query["sql"]]
    assert not [query for query in queries if "\x00" in query["sql"]]
    return response.content.decode()


@pytest.mark.parametrize(
    "name,label",
    [
        ("q", "Subject or recipient"),
        ("status", "Status"),
        ("customer", "Customer"),
        ("page", "Page"),
        ("cursor", "Page"),
    ],
)
def test_a_nul_in_any_filter_is_refused_with_a_message(admin_client_a, failures, name, label):
    page = refused(admin_client_a, {name: "in\x00voice"})
    assert 'role="alert" id="filter-errors"' in page
    assert "Nothing is listed: the page address has values that cannot be used." in page
    assert f"{label}: It contains a NUL character, which is not allowed." in page
    assert "Invoice 0 overdue" not in page
    assert ">Resend</button>" not in page


def test_a_lone_nul_search_is_refused(admin_client_a, failures):
    page = refused(admin_client_a, {"q": "\x00"})
    assert "Subject or recipient: It contains a NUL character, which is not allowed." in page


@pytest.mark.parametrize(
    "name,label",
    [
        ("q", "Subject or recipient"),
        ("status", "Status"),
        ("customer", "Customer"),
        ("page", "Page"),
        ("cursor", "Page"),
    ],
)
def test_an_over_long_filter_is_refused_without_echoing_it(admin_client_a, failures, name, label):
    value = "7" * 201
    page = refused(admin_client_a, {name: value})
    assert f"{label}: It is too long (at most 200 characters)." in page
    assert value not in page
    assert 'name="q" id="id_q" value=""' in page


def test_a_search_of_200_characters_is_still_run(admin_client_a, tenant_a):
    subject = "a" * 200
    wanted = make_email(tenant_a, subject=subject)
    response = admin_client_a.get(LIST, {"q": subject})
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [wanted]


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "100001"])
def test_a_page_that_is_not_a_page_number_is_refused(admin_client_a, failures, value):
    page = refused(admin_client_a, {"page": value})
    assert "Page: It must be a page number." in page


@pytest.mark.parametrize("value", ["1", "2", "99", "100000"])
def test_an_old_page_number_shows_the_first_page(admin_client_a, failures, value):
    response = admin_client_a.get(LIST, {"page": value})
    assert response.status_code == 200
    assert [email.pk for email in response.context["page"].object_list] == [
        email.pk for email in reversed(failures)
    ]
    assert not response.context["page"].has_previous


@pytest.mark.parametrize("value", ["0", "99999999999999999999", "1e3"])
def test_a_customer_that_is_not_an_id_is_refused(admin_client_a, value):
    page = refused(admin_client_a, {"customer": value})
    assert "Customer: It must be a customer number." in page


def test_the_valid_filters_stay_in_the_form_beside_a_refused_one(admin_client_a, initech):
    page = refused(admin_client_a, {"status": "error", "q": "x\x00", "customer": initech.pk})
    assert '<option value="error" selected>Error</option>' in page
    assert f'name="customer" id="id_customer" value="{initech.pk}"' in page


def test_a_reversed_date_range_keeps_both_days_in_their_boxes_beside_the_error(admin_client_a):
    page = refused(admin_client_a, {"date_from": "2026-11-30", "date_to": "2026-11-01"})
    assert "To: It must be the same day as From or a later one." in page
    assert 'name="date_from" id="id_date_from" value="2026-11-30"' in page
    assert 'name="date_to" id="id_date_to" value="2026-11-01"' in page


def test_a_refused_day_that_is_not_a_date_is_not_echoed(admin_client_a):
    page = refused(admin_client_a, {"date_to": "<b>soon</b>"})
    assert 'name="date_to" id="id_date_to" value=""' in page
    assert "soon" not in page.split('id="email-filters"')[1]


def test_the_date_boxes_carry_no_format_hint_that_contradicts_the_date_picker(
    admin_client_a, failures
):
    page = admin_client_a.get(LIST).content.decode()
    assert 'type="date" name="date_from"' in page
    assert "YYYY-MM-DD" not in page.split('id="email-filters"')[1].split("</form>")[0]
    # The query string keeps YYYY-MM-DD.
    listed = admin_client_a.get(LIST, {"date_from": "2026-01-01", "date_to": "2026-12-31"})
    assert listed.status_code == 200


def test_another_tenants_customer_still_answers_404(admin_client_b, initech):
    assert admin_client_b.get(LIST, {"customer": initech.pk, "q": "x"}).status_code == 404


# --- what Resend forms and links carry back ------------------------------------------


def test_a_junk_parameter_does_not_grow_the_page_or_reach_the_resend_forms(
    admin_client_a, failures
):
    plain = admin_client_a.get(LIST, {"status": "error"})
    bloated = admin_client_a.get(LIST, {"status": "error", **JUNK})
    assert bloated.status_code == 200
    plain_page, bloated_page = plain.content.decode(), bloated.content.decode()
    assert len(bloated_page) < 2 * len(plain_page)
    assert "xxxxxxxxxx" not in bloated_page
    assert resend_next_values(bloated_page) == ["/communications/?status=error"] * 3


def test_resend_forms_carry_every_known_filter_and_nothing_else(admin_client_a, initech, failures):
    params = {"status": "error", "customer": initech.pk, "q": " Invoice ", **JUNK}
    page = admin_client_a.get(LIST, params).content.decode()
    values = resend_next_values(page)
    assert len(values) == 3
    for value in values:
        assert value.startswith("/communications/?")
        assert query_of(value) == {"status": "error", "customer": str(initech.pk), "q": "Invoice"}


def test_resend_from_a_junk_laden_filtered_list_returns_to_the_filtered_list(
    collector_client_a, initech, failures
):
    params = {"status": "error", "customer": initech.pk, **JUNK}
    page = collector_client_a.get(LIST, params).content.decode()
    next_url = resend_next_values(page)[0]
    response = collector_client_a.post(
        f"/communications/{failures[0].pk}/resend/", {"next": next_url}, follow=True
    )
    assert response.redirect_chain == [
        (f"/communications/?status=error&customer={initech.pk}", 302)
    ]
    page = response.content.decode()
    assert "Queued to send again." in page
    assert f'id="email-{failures[0].pk}"' not in page  # it left the Error list
    assert f'id="email-{failures[1].pk}"' in page


def test_on_a_later_page_resend_returns_to_that_page_and_paging_links_drop_junk(
    admin_client_a, tenant_a
):
    for number in range(51):
        make_email(tenant_a, status=Status.ERROR, subject=f"Bulk {number}")
    first_response = admin_client_a.get(LIST, {"status": "error", **JUNK})
    cursor = first_response.context["page"].next_cursor
    first = first_response.content.decode()
    assert f'<a href="?status=error&amp;cursor={cursor}" rel="next">Next</a>' in first
    assert set(resend_next_values(first)) == {"/communications/?status=error"}
    response = admin_client_a.get(LIST, {"status": "error", "cursor": cursor, **JUNK})
    page = response.content.decode()
    assert resend_next_values(page) == [f"/communications/?status=error&cursor={cursor}"]
    previous = response.context["page"].previous_cursor
    assert f'<a href="?status=error&amp;cursor={previous}" rel="prev">Previous</a>' in page
    assert '<a href="/communications/?status=error" rel="first">Newest</a>' in page
    assert "xxxxxxxxxx" not in page


def test_the_all_customers_link_keeps_the_other_filters(admin_client_a, initech):
    page = admin_client_a.get(
        LIST, {"customer": initech.pk, "status": "sent", "q": "a b", **JUNK}
    ).content.decode()
    assert '<a href="/communications/?status=sent&amp;q=a+b">all customers</a>' in page


@pytest.mark.parametrize(
    "next_url", ["/communications/?q=" + "x" * 2000, "/communications/\n", "/\x00"]
)
def test_resend_ignores_a_next_that_no_page_would_build(admin_client_a, failures, next_url):
    email = failures[0]
    response = admin_client_a.post(f"/communications/{email.pk}/resend/", {"next": next_url})
    assert response.status_code == 302
    assert response.url == f"/communications/{email.pk}/"


def test_resend_forms_only_ever_name_known_parameters(admin_client_a, initech, failures):
    page = admin_client_a.get(
        LIST, {"status": "error", "customer": initech.pk, "q": "Invoice", "page": 1, **JUNK}
    ).content.decode()
    for value in resend_next_values(page):
        assert set(query_of(value)) <= KNOWN
