"""Communications: the list, an email's detail page, and Resend."""

from __future__ import annotations

import pytest
from django.test import Client

from outbox.models import DeliveryAttempt, OutboundEmail, Outcome, Status
from routes.config import settings_for
from routes.models import OutgoingEmailSettings
from tests.page_data import AUTH_REASON, make_customer, make_email

LIST = "/communications/"


def detail(email) -> str:
    return f"/communications/{email.pk}/"


def resend(email) -> str:
    return f"/communications/{email.pk}/resend/"


@pytest.fixture
def initech(tenant_a):
    return make_customer(tenant_a, "Initech", cc_emails=["cfo@initech.example"])


@pytest.fixture
def failed(tenant_a, initech):
    return make_email(
        tenant_a, customer=initech, status=Status.ERROR, subject="Invoice 1001 overdue"
    )


@pytest.fixture
def sent(tenant_a, initech):
    return make_email(
        tenant_a, customer=initech, status=Status.SENT, subject="Invoice 1002 overdue"
    )


@pytest.fixture
def globex_email(tenant_b):
    customer = make_customer(tenant_b, "Globex Customer")
    return make_email(tenant_b, customer=customer, status=Status.ERROR, subject="Globex secret")


def text(response) -> str:
    return response.content.decode()


# --- who may see what ------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_from_every_page(failed):
    client = Client()
    for url in (LIST, detail(failed)):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=")
    response = client.post(resend(failed))
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    failed.refresh_from_db()
    assert failed.status == Status.ERROR


def test_another_tenants_admin_gets_404_for_the_detail_and_resend(admin_client_b, failed):
    assert admin_client_b.get(detail(failed)).status_code == 404
    assert admin_client_b.post(resend(failed)).status_code == 404
    failed.refresh_from_db()
    assert failed.status == Status.ERROR


def test_another_tenants_customer_id_in_the_filter_answers_404(admin_client_b, initech):
    assert admin_client_b.get(LIST, {"customer": initech.pk}).status_code == 404


def test_a_customer_filter_that_is_not_a_number_is_refused_with_a_message(admin_client_a):
    response = admin_client_a.get(LIST, {"customer": "abc"})
    assert response.status_code == 400
    assert "Customer: It must be a customer number." in text(response)


def test_a_collector_reads_the_list_and_the_detail(collector_client_a, failed):
    assert collector_client_a.get(LIST).status_code == 200
    assert collector_client_a.get(detail(failed)).status_code == 200


def test_the_list_shows_only_the_tenants_own_emails(admin_client_a, failed, sent, globex_email):
    page = text(admin_client_a.get(LIST))
    assert "Invoice 1001 overdue" in page
    assert "Invoice 1002 overdue" in page
    assert "Globex secret" not in page


# --- the list --------------------------------------------------------------------


def test_a_row_shows_created_time_customer_recipients_subject_and_status(
    admin_client_a, tenant_a, initech
):
    make_email(
        tenant_a,
        customer=initech,
        status=Status.QUEUED,
        to=("ap@initech.example",),
        cc=("cfo@initech.example",),
        subject="Statement of account",
    )
    page = text(admin_client_a.get(LIST))
    assert "Initech" in page
    assert "ap@initech.example, cfo@initech.example" in page
    assert "Statement of account" in page
    assert ">Queued<" in page
    assert "Created (UTC)" in page


def test_an_error_row_shows_its_reason_and_a_resend_button(admin_client_a, failed, sent):
    page = text(admin_client_a.get(LIST))
    assert "The mail server refused the username or password." in page
    assert "Server said: 535 5.7.8 Username and Password not accepted" in page
    assert page.count(">Resend</button>") == 1
    assert f'action="{resend(failed)}"' in page


def test_the_resend_button_comes_back_to_the_filtered_list(admin_client_a, failed):
    page = text(admin_client_a.get(LIST, {"status": "error"}))
    assert 'name="next" value="/communications/?status=error"' in page


@pytest.mark.parametrize(
    "status,shown,hidden",
    [
        ("error", "Invoice 1001 overdue", "Invoice 1002 overdue"),
        ("sent", "Invoice 1002 overdue", "Invoice 1001 overdue"),
    ],
)
def test_the_status_filter_keeps_only_that_status(
    admin_client_a, failed, sent, status, shown, hidden
):
    page = text(admin_client_a.get(LIST, {"status": status}))
    assert shown in page and hidden not in page


def test_an_unknown_status_filter_is_refused_with_a_message(admin_client_a, failed, sent):
    response = admin_client_a.get(LIST, {"status": "bogus"})
    assert response.status_code == 400
    page = text(response)
    assert "Status: Choose one of the statuses in the list." in page
    assert "Invoice 1001 overdue" not in page and "Invoice 1002 overdue" not in page


def test_the_customer_filter_keeps_only_that_customers_emails(admin_client_a, tenant_a, failed):
    other = make_customer(tenant_a, "Hooli")
    make_email(tenant_a, customer=other, subject="Hooli reminder", to=("ap@hooli.example",))
    page = text(admin_client_a.get(LIST, {"customer": other.pk}))
    assert "Hooli reminder" in page
    assert "Invoice 1001 overdue" not in page


@pytest.mark.parametrize("q", ["INVOICE 1001", "cfo@INITECH", "billing@hooli"])
def test_the_search_matches_the_subject_or_any_recipient_in_any_case(admin_client_a, tenant_a, q):
    wanted = make_email(
        tenant_a,
        subject="Invoice 1001 overdue",
        to=("billing@hooli.example",),
        cc=("cfo@initech.example",),
    )
    make_email(tenant_a, subject="Something else", to=("ap@other.example",))
    response = admin_client_a.get(LIST, {"q": q})
    assert list(response.context["page"].object_list) == [wanted]


def test_the_list_pages_by_fifty_with_next_and_previous_links_and_no_count(
    admin_client_a, tenant_a
):
    for number in range(51):
        make_email(tenant_a, subject=f"Bulk {number}")
    first = admin_client_a.get(LIST)
    page = first.context["page"]
    assert len(page.object_list) == 50
    assert not page.has_previous
    body = text(first)
    assert "Page 1 of" not in body and "emails)" not in body  # no total: no COUNT(*)
    assert f'href="?cursor={page.next_cursor}" rel="next">Next</a>' in body
    second = admin_client_a.get(LIST, {"cursor": page.next_cursor})
    assert [email.subject for email in second.context["page"].object_list] == ["Bulk 0"]
    assert not second.context["page"].has_next
    assert 'rel="prev">Previous</a>' in text(second)


# --- the detail page ---------------------------------------------------------------


def test_the_detail_shows_headers_body_status_reason_server_reply_and_attempts(
    collector_client_a, tenant_a, failed
):
    DeliveryAttempt.objects.create(
        tenant=tenant_a,
        email=failed,
        at=failed.created_at,
        outcome=Outcome.ERROR,
        stage="auth",
        smtp_code=535,
        reply="5.7.8 Bad credentials for hunter2",
    )
    page = text(collector_client_a.get(detail(failed)))
    assert "ap@initech.example" in page
    assert failed.message_id.replace("<", "&lt;").replace(">", "&gt;") in page
    assert "Dear customer," in page
    assert ">Error<" in page
    assert "The mail server refused the username or password." in page
    assert '<td data-label="Stage">auth</td>' in page
    assert '<td data-label="Code">535</td>' in page
    # A login failure's attempt shows the product's reason, never the server's text.
    assert "hunter2" not in page
    assert "The mail server refused the login." in page
    assert '"Sent" means the sending server' in page
    assert "accepted the message for delivery" in page
    assert ">Resend</button>" in page


def test_the_detail_of_a_sent_email_has_no_resend_button(admin_client_a, sent):
    page = text(admin_client_a.get(detail(sent)))
    assert ">Sent<" in page
    assert ">Resend</button>" not in page


# --- Resend ------------------------------------------------------------------------


def test_resend_puts_an_error_email_back_in_the_queue_with_fresh_tries(collector_client_a, failed):
    response = collector_client_a.post(resend(failed), {"next": "/communications/?status=error"})
    assert response.status_code == 302
    assert response.url == "/communications/?status=error"

    failed.refresh_from_db()
    assert failed.status == Status.QUEUED
    assert failed.tries == 0
    assert (failed.error_code, failed.error_message, failed.smtp_code, failed.smtp_reply) == (
        "",
        "",
        None,
        "",
    )
    page = text(collector_client_a.get(response.url))
    assert '<div class="banner banner-success" role="status">Queued to send again.</div>' in page


def test_an_admin_may_resend_too(admin_client_a, failed):
    admin_client_a.post(resend(failed))
    failed.refresh_from_db()
    assert failed.status == Status.QUEUED


def test_resend_on_an_email_that_is_not_in_error_changes_nothing_and_says_so(admin_client_a, sent):
    before = OutboundEmail.objects.values().get(pk=sent.pk)
    response = admin_client_a.post(resend(sent), follow=True)
    assert OutboundEmail.objects.values().get(pk=sent.pk) == before
    assert response.redirect_chain == [(detail(sent), 302)]
    page = text(response)
    assert "banner-error" in page
    assert "Only emails in Error can be resent; this one is Sent." in page


def test_resend_is_refused_while_the_tenants_smtp_login_is_failing(
    admin_client_a, tenant_a, failed
):
    config = settings_for(tenant_a)
    OutgoingEmailSettings.objects.filter(pk=config.pk).update(
        use_server="smtp",
        host="smtp.acme.example",
        port=587,
        last_result_ok=False,
        last_result_code="auth_failed",
        last_result_message=AUTH_REASON,
    )
    page = text(admin_client_a.post(resend(failed), follow=True))
    assert "Fix Settings | Email | Outgoing emails first" in page
    failed.refresh_from_db()
    assert failed.status == Status.ERROR


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/x", "", "javascript:alert(1)"]
)
def test_resend_goes_back_to_the_detail_page_when_next_is_missing_or_foreign(
    admin_client_a, failed, next_url
):
    response = admin_client_a.post(resend(failed), {"next": next_url})
    assert response.status_code == 302
    assert response.url == detail(failed)


def test_resend_by_get_is_not_allowed(admin_client_a, failed):
    assert admin_client_a.get(resend(failed)).status_code == 405
    failed.refresh_from_db()
    assert failed.status == Status.ERROR


def test_resend_without_a_csrf_token_is_refused(collector_a, failed):
    client = Client(enforce_csrf_checks=True)
    client.force_login(collector_a, backend="yaypay_mail.auth.EmailBackend")
    assert client.post(resend(failed)).status_code == 403
    failed.refresh_from_db()
    assert failed.status == Status.ERROR

    # The same post with the page's token goes through.
    client.get(detail(failed))
    token = client.cookies["csrftoken"].value
    assert client.post(resend(failed), {"csrfmiddlewaretoken": token}).status_code == 302
    failed.refresh_from_db()
    assert failed.status == Status.QUEUED
