"""An email's page: who it is from (the current identity, said so), Reply-To, To, Cc,
the route, the Message-ID, and every try in the tenant's time zone; a login failure's
try shows its code and the product's reason, never the server's text."""

from __future__ import annotations

import datetime
import re

import pytest

from outbox.models import DeliveryAttempt, Outcome, Status
from routes.config import settings_for
from routes.models import OutgoingEmailSettings
from tests.page_data import make_customer, make_email
from yaypay_mail.models import Tenant


def detail(client, email) -> str:
    response = client.get(f"/communications/{email.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def dd(page: str, dom_id: str) -> str:
    found = re.search(rf'<dd id="{dom_id}">(.*?)</dd>', page, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", found).split())


def attempt_rows(page: str) -> list[list[str]]:
    rows = re.findall(r'<tr class="attempt">(.*?)</tr>', page, re.S)
    return [
        [" ".join(cell.split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in rows
    ]


@pytest.fixture
def own_server(tenant_a):
    config = settings_for(tenant_a)
    OutgoingEmailSettings.objects.filter(pk=config.pk).update(
        use_server="smtp", from_email="ar@acme.example", sender_name="Acme AR"
    )


def test_a_queued_email_shows_the_current_identity_and_says_so(
    collector_client_a, tenant_a, own_server
):
    email = make_email(
        tenant_a,
        status=Status.QUEUED,
        to=("ap@initech.example",),
        cc=("cfo@initech.example", "ar@initech.example"),
    )
    page = detail(collector_client_a, email)
    assert dd(page, "from").startswith("Acme AR &lt;ar@acme.example&gt;")
    assert "the current sender in Settings | Email: used when this email is sent" in page
    assert dd(page, "reply-to") == "—"
    assert "<dd>ap@initech.example</dd>" in page
    assert "<dd>cfo@initech.example, ar@initech.example</dd>" in page
    assert dd(page, "route") == "—"
    assert f"<code>{email.message_id.replace('<', '&lt;').replace('>', '&gt;')}</code>" in page


def test_the_gateway_identity_has_the_tenants_address_as_reply_to(collector_client_a, tenant_a):
    config = settings_for(tenant_a)
    OutgoingEmailSettings.objects.filter(pk=config.pk).update(
        use_server="gateway", from_email="ar@acme.example"
    )
    email = make_email(tenant_a, status=Status.SENT, route="gateway")
    page = detail(collector_client_a, email)
    assert "Acme Corp" in dd(page, "from")
    assert "this email may have gone out with earlier settings" in page
    assert dd(page, "reply-to") == "ar@acme.example"
    assert dd(page, "route") == "YayPay gateway"


def test_a_sent_emails_earlier_failures_keep_their_reasons_in_the_tenants_zone(
    collector_client_a, tenant_a
):
    Tenant.objects.filter(pk=tenant_a.pk).update(time_zone="America/New_York")
    email = make_email(tenant_a, customer=make_customer(tenant_a), status=Status.SENT, route="smtp")
    first = datetime.datetime(2026, 11, 26, 14, 0, 5, tzinfo=datetime.UTC)
    for at, outcome, stage, code, reply in (
        (first, Outcome.RETRY, "rcpt", 451, "4.3.0 Mailbox busy, try later"),
        (first + datetime.timedelta(minutes=5), Outcome.RETRY, "auth", 454, "4.7.0 hunter2 echo"),
        (first + datetime.timedelta(minutes=10), Outcome.SENT, "", None, ""),
    ):
        DeliveryAttempt.objects.create(
            tenant=tenant_a, email=email, at=at, outcome=outcome, stage=stage,
            smtp_code=code, reply=reply, route="smtp",
        )  # fmt: skip
    page = detail(collector_client_a, email)
    assert "When (America/New_York)" in page
    assert dd(page, "route") == "Your server (SMTP)"
    assert attempt_rows(page) == [
        [
            "2026-11-26 09:00:05",
            "Temporary failure, will retry",
            "Your server (SMTP)",
            "rcpt",
            "451",
            "4.3.0 Mailbox busy, try later",
        ],
        [
            "2026-11-26 09:05:05",
            "Temporary failure, will retry",
            "Your server (SMTP)",
            "auth",
            "454",
            "The mail server refused the login. Check the Username and Password in "
            "Settings | Email | Outgoing emails.",
        ],
        ["2026-11-26 09:10:05", "Sent", "Your server (SMTP)", "—", "—", "—"],
    ]
    assert "hunter2" not in page


def test_another_tenants_email_answers_404(admin_client_b, tenant_a):
    email = make_email(tenant_a, status=Status.ERROR)
    assert admin_client_b.get(f"/communications/{email.pk}/").status_code == 404


def test_a_sent_email_shows_the_from_it_went_out_with_not_todays(
    collector_client_a, tenant_a, gateway
):
    from outbox.delivery import deliver_due
    from tests.communications.outbox_helpers import queue, use_smtp

    OutgoingEmailSettings.objects.filter(pk=settings_for(tenant_a).pk).update(
        use_server="gateway", from_email="billing@acme.example"
    )
    (email,) = queue(tenant_a, 1, kick=False)
    assert deliver_due(tenant_id=tenant_a.pk) == 1
    received = gateway.wait_for(1)[0].message
    # Later the tenant moves to its own server, with another From.
    use_smtp(tenant_a, 2525, from_email="ar@acme.example", sender_name="Acme AR")

    page = detail(collector_client_a, email)
    assert dd(page, "from") == "Acme Corp via YayPay &lt;no-reply@yaypay.com&gt; (as it went out)"
    assert received["From"] == "Acme Corp via YayPay <no-reply@yaypay.com>"
    assert dd(page, "reply-to") == "billing@acme.example" == received["Reply-To"]
    assert dd(page, "route") == "YayPay gateway"
    assert attempt_rows(page)[0][1:3] == ["Sent", "YayPay gateway"]


def test_an_errors_reason_and_the_servers_reply_are_each_said_once(collector_client_a, tenant_a):
    from routes.failures import SendFailure

    failure = SendFailure(
        code="recipient_refused",
        message="The server refused the recipient ap@initech.example.",
        hint="Correct the address, then resend.",
        smtp_code=550,
        smtp_reply="5.1.1 <ap@initech.example>: Recipient address rejected: User unknown",
    )
    email = make_email(
        tenant_a,
        status=Status.ERROR,
        error_code=failure.code,
        error_message=failure.full_text(),
        smtp_code=550,
        smtp_reply=failure.smtp_reply,
    )
    DeliveryAttempt.objects.create(
        tenant=tenant_a, email=email, at=email.created_at, outcome=Outcome.ERROR,
        stage="rcpt", smtp_code=550, reply=failure.smtp_reply, route="smtp",
    )  # fmt: skip
    page = detail(collector_client_a, email)
    assert page.count("Recipient address rejected") == 1
    assert page.count("The server refused the recipient") == 1
    assert "Correct the address, then resend." in page
