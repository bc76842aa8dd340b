"""The operators' Django admin: superusers only, the outbox read-only, Resend for Error."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from dunning.models import ReminderSettings
from outbox.models import DeliveryAttempt, Kind, OutboundEmail, Outcome, Status
from yaypay_mail.models import Customer, Invoice

CHANGELISTS = [
    "/admin/outbox/outboundemail/",
    "/admin/outbox/deliveryattempt/",
    "/admin/dunning/remindersettings/",
    "/admin/yaypay_mail/customer/",
    "/admin/yaypay_mail/invoice/",
    "/admin/yaypay_mail/tenant/",
    "/admin/yaypay_mail/membership/",
]
BODY_SECRET = "reset-token-Zq81x"


def login(user) -> Client:
    client = Client()
    client.force_login(user, backend="yaypay_mail.auth.EmailBackend")
    return client


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser(
        "ops@yaypay.example", "ops@yaypay.example", "ops-pw-2026-x"
    )


@pytest.fixture
def staff_with_every_permission(django_user_model):
    """Staff, not superuser, even with every model permission granted."""
    user = django_user_model.objects.create_user(
        "staff@yaypay.example", "staff@yaypay.example", "staff-pw-2026-x", is_staff=True
    )
    user.user_permissions.set(Permission.objects.all())
    return user


def make_email(tenant, customer=None, **fields) -> OutboundEmail:
    now = timezone.now()
    values = {
        "tenant": tenant,
        "customer": customer,
        "kind": Kind.MANUAL,
        "to_addresses": ["ap@customer.example"],
        "subject": "Invoice INV-1 is overdue",
        "body_text": f"Pay here: https://pay.example/{BODY_SECRET}",
        "body_html": f"<a href='https://pay.example/{BODY_SECRET}'>Pay</a>",
        "message_id": f"<{now.timestamp()}.{OutboundEmail.objects.count()}@acme.example>",
        "next_attempt_at": now,
    } | fields
    return OutboundEmail.objects.create(**values)


@pytest.fixture
def outbox(tenant_a):
    customer = Customer.objects.create(
        tenant=tenant_a, name="Initech", billing_email="ap@initech.example"
    )
    Invoice.objects.create(
        tenant=tenant_a,
        customer=customer,
        number="INV-1",
        issued_on=datetime.date(2026, 10, 1),
        due_on=datetime.date(2026, 10, 31),
        amount=Decimal("120.00"),
        open_balance=Decimal("120.00"),
    )
    ReminderSettings.objects.get(tenant=tenant_a)  # made with the tenant
    failed = make_email(
        tenant_a,
        customer,
        status=Status.ERROR,
        tries=6,
        error_code="mailbox_full",
        error_message="The recipient's mailbox is full",
        smtp_code=452,
        smtp_reply="4.2.2 Mailbox full",
    )
    sent_at = timezone.now() - datetime.timedelta(hours=1)
    sent = make_email(tenant_a, customer, status=Status.SENT, tries=1, sent_at=sent_at)
    DeliveryAttempt.objects.create(
        tenant=tenant_a,
        email=failed,
        at=timezone.now(),
        outcome=Outcome.ERROR,
        stage="rcpt",
        smtp_code=452,
        reply="4.2.2 Mailbox full",
    )
    return {"failed": failed, "sent": sent, "sent_at": sent_at}


def test_a_superuser_sees_every_changelist(operator, outbox):
    client = login(operator)

    for url in CHANGELISTS:
        response = client.get(url)
        assert response.status_code == 200, url

    page = client.get("/admin/outbox/outboundemail/").content.decode()
    assert "Invoice INV-1 is overdue" in page and "mailbox_full" in page
    assert "Initech" in page


@pytest.mark.parametrize("url", CHANGELISTS)
def test_staff_who_are_not_superusers_get_nothing(staff_with_every_permission, outbox, url):
    client = login(staff_with_every_permission)

    assert client.get(url).status_code == 403
    index = client.get("/admin/").content.decode()
    assert "Outbound emails" not in index and "Invoices" not in index


def test_the_email_page_is_read_only_and_never_shows_the_body(operator, outbox):
    client = login(operator)
    failed = outbox["failed"]
    url = f"/admin/outbox/outboundemail/{failed.pk}/change/"

    page = client.get(url).content.decode()
    assert "4.2.2 Mailbox full" in page and failed.message_id in page.replace("&lt;", "<").replace(
        "&gt;", ">"
    )
    assert BODY_SECRET not in page
    assert 'name="subject"' not in page and 'name="_save"' not in page

    client.post(url, {"subject": "changed", "status": "sent"})
    failed.refresh_from_db()
    assert (failed.subject, failed.status) == ("Invoice INV-1 is overdue", Status.ERROR)
    assert client.get("/admin/outbox/outboundemail/add/").status_code == 403
    assert client.get(f"{url.removesuffix('change/')}delete/").status_code == 403


def test_search_finds_an_email_by_message_id(operator, outbox):
    client = login(operator)

    page = client.get(
        "/admin/outbox/outboundemail/", {"q": outbox["sent"].message_id}
    ).content.decode()

    assert f"/admin/outbox/outboundemail/{outbox['sent'].pk}/change/" in page
    assert f"/admin/outbox/outboundemail/{outbox['failed'].pk}/change/" not in page


def test_resend_requeues_an_error_email_and_leaves_a_sent_one_alone(operator, outbox):
    client = login(operator)
    failed, sent = outbox["failed"], outbox["sent"]

    response = client.post(
        "/admin/outbox/outboundemail/",
        {"action": "resend", "_selected_action": [failed.pk, sent.pk], "index": "0"},
        follow=True,
    )

    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert "1 email(s) queued to send again." in shown
    assert (
        f"1 email(s) not resent. #{sent.pk}: Only emails in Error can be resent; "
        "this one is Sent." in shown
    )
    failed.refresh_from_db()
    assert (failed.status, failed.tries, failed.error_code, failed.smtp_code) == (
        Status.QUEUED,
        0,
        "",
        None,
    )
    sent.refresh_from_db()
    assert (sent.status, sent.sent_at) == (Status.SENT, outbox["sent_at"])


def test_staff_who_are_not_superusers_cannot_resend(staff_with_every_permission, outbox):
    client = login(staff_with_every_permission)
    failed = outbox["failed"]

    response = client.post(
        "/admin/outbox/outboundemail/",
        {"action": "resend", "_selected_action": [failed.pk], "index": "0"},
    )

    assert response.status_code == 403
    failed.refresh_from_db()
    assert failed.status == Status.ERROR
