"""Bulk resend: tick Error rows (or every Error email matching the filters), confirm on
/communications/resend/, and they are queued again; never another tenant's, never while
the tenant's server refuses the login, and in chunks for all_matching."""

from __future__ import annotations

import pytest
from django.test import Client

from communications import bulk_resend
from outbox.models import Kind, OutboundEmail, Status
from routes.config import settings_for
from routes.models import OutgoingEmailSettings
from tests.page_data import AUTH_REASON, make_customer, make_email

RESEND = "/communications/resend/"


@pytest.fixture(autouse=True)
def no_delivery(monkeypatch):
    """Keep resent emails Queued (eager Celery would deliver them on commit)."""
    kicks = []
    for where in ("outbox.services", "communications.bulk_resend"):
        monkeypatch.setattr(f"{where}.kick_delivery", lambda **kwargs: kicks.append(kwargs))
    return kicks


@pytest.fixture
def initech(tenant_a):
    return make_customer(tenant_a, "Initech")


@pytest.fixture
def errors(tenant_a, initech):
    return [
        make_email(tenant_a, customer=initech, status=Status.ERROR, subject=f"Invoice {n}")
        for n in range(3)
    ]


def statuses(emails) -> list[str]:
    return [OutboundEmail.objects.get(pk=e.pk).status for e in emails]


def text(response) -> str:
    return response.content.decode()


def test_the_list_offers_checkboxes_on_error_rows_only(collector_client_a, tenant_a, errors):
    sent = make_email(tenant_a, status=Status.SENT, subject="Fine")
    page = text(collector_client_a.get("/communications/"))
    for email in errors:
        assert f'name="ids" value="{email.pk}" form="bulk-resend"' in page
    assert f'name="ids" value="{sent.pk}"' not in page
    on_page = ",".join(str(e.pk) for e in sorted(errors, key=lambda e: -e.pk))
    assert f'name="ids_on_page" value="{on_page}"' in page
    assert "Select all Error emails on this page" in page
    assert ">Resend all Error emails matching this filter</button>" in page


@pytest.mark.parametrize("filters", [{}, {"status": "error"}], ids=["all", "error"])
def test_resend_all_is_offered_only_when_an_error_email_matches(
    collector_client_a, tenant_a, initech, filters
):
    make_email(tenant_a, customer=initech, status=Status.SENT, subject="Fine")
    page = text(collector_client_a.get("/communications/", filters))
    assert "Resend all Error emails" not in page
    make_email(tenant_a, customer=initech, status=Status.ERROR)
    page = text(collector_client_a.get("/communications/", filters))
    assert ">Resend all Error emails matching this filter</button>" in page
    # A filter that matches no Error email (another customer) offers nothing.
    other = make_customer(tenant_a, "Hooli")
    page = text(collector_client_a.get("/communications/", {**filters, "customer": other.pk}))
    assert "Resend all Error emails" not in page


def test_a_resend_that_queued_nothing_stays_on_the_list_and_says_so(collector_client_a, errors):
    OutboundEmail.objects.filter(pk=errors[0].pk).update(status=Status.SENT)
    response = collector_client_a.post(RESEND, {"ids": [errors[0].pk]}, follow=True)
    assert response.redirect_chain == [("/communications/", 302)]
    assert "0 emails queued again; 1 skipped (not in Error)" in text(response)


def test_confirming_ticked_rows_shows_how_many_and_which_then_resends_them(
    collector_client_a, errors, no_delivery
):
    picked = [errors[0].pk, errors[2].pk]
    confirm = collector_client_a.get(RESEND, {"ids": picked, "status": "error"})
    assert confirm.status_code == 200
    page = text(confirm)
    assert "2 emails in Error will be queued again." in page
    assert "Invoice 0" in page and "Invoice 2" in page and "Invoice 1" not in page
    assert statuses(errors) == [Status.ERROR] * 3  # GET changes nothing

    response = collector_client_a.post(RESEND, {"ids": picked, "status": "error"}, follow=True)
    # Where they went, not an Error list that would now show nothing.
    assert response.redirect_chain == [("/communications/?status=queued", 302)]
    assert "2 emails queued again; 0 skipped (not in Error)" in text(response)
    listed = [e.pk for e in errors if f'id="email-{e.pk}"' in text(response)]
    assert listed == picked
    assert statuses(errors) == [Status.QUEUED, Status.ERROR, Status.QUEUED]
    # Delivery asked for once for the lot, not once per email.
    assert no_delivery == [{"tenant_id": errors[0].tenant_id, "queued": 2}]


def test_select_all_on_the_page_picks_its_error_rows(collector_client_a, errors):
    on_page = ",".join(str(e.pk) for e in errors)
    response = collector_client_a.post(RESEND, {"ids_on_page": on_page}, follow=True)
    assert "3 emails queued again; 0 skipped (not in Error)" in text(response)
    assert statuses(errors) == [Status.QUEUED] * 3


def test_an_email_no_longer_in_error_is_skipped_and_reported(collector_client_a, tenant_a, errors):
    sent = make_email(tenant_a, status=Status.SENT)
    ids = [errors[0].pk, sent.pk]
    page = text(collector_client_a.get(RESEND, {"ids": ids}))
    assert "1 email in Error will be queued again." in page
    assert "1 ticked email is no longer in Error and will be skipped." in page
    response = collector_client_a.post(RESEND, {"ids": ids}, follow=True)
    assert "1 email queued again; 1 skipped (not in Error)" in text(response)
    # Posting again (a double click, the back button) resends nothing twice.
    response = collector_client_a.post(RESEND, {"ids": ids}, follow=True)
    assert "0 emails queued again; 2 skipped (not in Error)" in text(response)
    assert OutboundEmail.objects.get(pk=sent.pk).status == Status.SENT


def test_another_tenants_ids_are_never_resent(admin_client_b, tenant_b, errors):
    own = make_email(tenant_b, status=Status.ERROR, subject="Globex own")
    ids = [*(e.pk for e in errors), own.pk]
    page = text(admin_client_b.get(RESEND, {"ids": ids}))
    assert "1 email in Error will be queued again." in page
    assert "Invoice 0" not in page
    response = admin_client_b.post(RESEND, {"ids": ids}, follow=True)
    assert "1 email queued again; 0 skipped (not in Error)" in text(response)
    assert statuses(errors) == [Status.ERROR] * 3
    assert OutboundEmail.objects.get(pk=own.pk).status == Status.QUEUED


def test_all_matching_with_another_tenants_customer_answers_404(admin_client_b, initech, errors):
    data = {"all_matching": "1", "customer": initech.pk}
    assert admin_client_b.get(RESEND, data).status_code == 404
    assert admin_client_b.post(RESEND, data).status_code == 404
    assert statuses(errors) == [Status.ERROR] * 3


def test_all_matching_resends_every_error_email_the_filters_match_in_chunks(
    collector_client_a, tenant_a, initech, monkeypatch
):
    other = make_customer(tenant_a, "Hooli")
    matching = [
        make_email(tenant_a, customer=initech, status=Status.ERROR, kind=Kind.REMINDER)
        for _ in range(7)
    ]
    manual = make_email(tenant_a, customer=initech, status=Status.ERROR, kind=Kind.MANUAL)
    elsewhere = make_email(tenant_a, customer=other, status=Status.ERROR, kind=Kind.REMINDER)
    sent = make_email(tenant_a, customer=initech, status=Status.SENT, kind=Kind.REMINDER)
    monkeypatch.setattr(bulk_resend, "CHUNK_SIZE", 3)
    monkeypatch.setattr(bulk_resend, "COUNT_CAP", 5)
    filters = {"customer": initech.pk, "kind": "reminder", "status": "error"}

    page = text(collector_client_a.get(RESEND, {"all_matching": "1", **filters}))
    assert "More than 5 emails in Error will be queued again." in page
    assert "Initech" in page

    chunks = []
    real = bulk_resend._error_chunks

    def spy(emails):
        for email in real(emails):
            chunks.append(email.pk)
            yield email

    monkeypatch.setattr(bulk_resend, "_error_chunks", spy)
    response = collector_client_a.post(RESEND, {"all_matching": "1", **filters}, follow=True)
    assert response.redirect_chain == [
        (f"/communications/?status=queued&customer={initech.pk}&kind=reminder", 302)
    ]
    assert "7 emails queued again; 0 skipped (not in Error)" in text(response)
    assert chunks == [e.pk for e in reversed(matching)]  # newest first, each once
    assert statuses(matching) == [Status.QUEUED] * 7
    assert statuses([manual, elsewhere, sent]) == [Status.ERROR, Status.ERROR, Status.SENT]


def test_all_matching_reads_the_outbox_in_bounded_chunks(tenant_a, initech, monkeypatch):
    for _ in range(7):
        make_email(tenant_a, customer=initech, status=Status.ERROR)
    monkeypatch.setattr(bulk_resend, "CHUNK_SIZE", 3)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    emails = OutboundEmail.objects.filter(tenant=tenant_a)
    with CaptureQueriesContext(connection) as queries:
        ids = [email.pk for email in bulk_resend._error_chunks(emails)]
    assert len(ids) == 7
    selects = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 3  # 3 + 3 + 1
    assert all("LIMIT 3" in sql for sql in selects)


def blocked(tenant):
    config = settings_for(tenant)
    OutgoingEmailSettings.objects.filter(pk=config.pk).update(
        use_server="smtp",
        host="smtp.acme.example",
        port=587,
        last_result_ok=False,
        last_result_code="auth_failed",
        last_result_message=AUTH_REASON,
    )


def test_nothing_is_resent_while_the_tenants_server_refuses_the_login(
    collector_client_a, tenant_a, errors
):
    blocked(tenant_a)
    page = text(collector_client_a.get(RESEND, {"all_matching": "1"}))
    assert "Nothing can be resent now: your mail server refused the login." in page
    assert "The mail server refused the username or password." in page
    assert "(ask an admin)" in page
    assert '<form method="post"' not in page.split('id="resend-summary"')[1]

    response = collector_client_a.post(RESEND, {"ids": [e.pk for e in errors]})
    assert response.status_code == 409
    assert "Nothing can be resent now" in text(response)
    response = collector_client_a.post(RESEND, {"all_matching": "1"})
    assert response.status_code == 409
    assert statuses(errors) == [Status.ERROR] * 3


@pytest.mark.parametrize(
    "data,message",
    [
        ({}, bulk_resend.NOTHING_PICKED),
        ({"ids": ["12x"]}, bulk_resend.BAD_IDS),
        ({"ids": ["-1"]}, bulk_resend.BAD_IDS),
        ({"ids": ["99999999999999999999"]}, bulk_resend.BAD_IDS),
        ({"ids_on_page": "1,,2"}, bulk_resend.BAD_IDS),
        ({"ids": [str(n) for n in range(1, 502)]}, bulk_resend.TOO_MANY_IDS),
    ],
)
def test_a_bad_pick_changes_nothing_and_says_why(collector_client_a, errors, data, message):
    response = collector_client_a.post(RESEND, {**data, "status": "error"}, follow=True)
    assert response.redirect_chain == [("/communications/?status=error", 302)]
    assert message in text(response)
    assert statuses(errors) == [Status.ERROR] * 3


def test_bad_filters_are_refused_with_a_message(collector_client_a, errors):
    response = collector_client_a.post(RESEND, {"all_matching": "1", "date_from": "junk"})
    assert response.status_code == 400
    assert "From: It must be a date written YYYY-MM-DD" in text(response)
    assert statuses(errors) == [Status.ERROR] * 3


def test_anonymous_visitors_and_csrf_less_posts_resend_nothing(collector_a, errors):
    assert Client().post(RESEND, {"ids": [errors[0].pk]}).status_code == 302
    client = Client(enforce_csrf_checks=True)
    client.force_login(collector_a, backend="yaypay_mail.auth.EmailBackend")
    assert client.post(RESEND, {"ids": [errors[0].pk]}).status_code == 403
    assert statuses(errors) == [Status.ERROR] * 3


def test_a_login_refusal_met_midway_stops_the_rest_and_says_so(
    collector_client_a, tenant_a, errors, monkeypatch
):
    from outbox import services

    real = services.outbox_resend

    def first_one_then_blocked(*, email, **options):
        result = real(email=email, **options)
        blocked(tenant_a)  # a worker met the refusal with the first resent email
        return result

    monkeypatch.setattr(bulk_resend, "outbox_resend", first_one_then_blocked)
    response = collector_client_a.post(RESEND, {"ids": [e.pk for e in errors]}, follow=True)
    page = text(response)
    assert "1 email queued again; 0 skipped (not in Error). The others were not resent: " in page
    assert "banner-error" in page
    assert sorted(statuses(errors)) == [Status.ERROR, Status.ERROR, Status.QUEUED]
