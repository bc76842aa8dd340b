"""Faults that used to lose time or blame the wrong party: rows that cannot be prepared,
keys the operator removed, stale credentials, and a broker that is down."""

from __future__ import annotations

import datetime

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

from outbox import tasks
from outbox.delivery import deliver_due
from outbox.models import Kind, OutboundEmail, Status
from outbox.services import outbox_resend
from routes.config import mark_failing
from routes.failures import CREDENTIALS_UNREADABLE, SendFailure
from routes.models import OutgoingEmailSettings
from tests.communications.outbox_helpers import queue, reload, use_smtp
from tests.page_data import make_customer, make_email, make_invoice


def test_rows_that_cannot_be_prepared_error_alone_and_the_batch_goes_on(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    customer = make_customer(tenant_a)
    invoice = make_invoice(customer, "INV-1", due_on=datetime.date(2026, 1, 5))
    first = make_email(tenant_a, status=Status.QUEUED, subject="first")
    # A reminder whose re-render raises (no reminder date), and an address that is no string.
    broken_reminder = make_email(
        tenant_a, customer=customer, status=Status.QUEUED, kind=Kind.REMINDER, subject="broken"
    )
    broken_reminder.invoices.set([invoice])
    not_a_string = make_email(tenant_a, status=Status.QUEUED, subject="numeric")
    OutboundEmail.objects.filter(pk=not_a_string.pk).update(to_addresses=[42])
    last = make_email(tenant_a, status=Status.QUEUED, subject="last")

    assert deliver_due(tenant_id=tenant_a.pk) == 2
    first, broken_reminder, not_a_string, last = reload(
        [first, broken_reminder, not_a_string, last]
    )
    assert (first.status, last.status) == (Status.SENT, Status.SENT)
    for bad in (broken_reminder, not_a_string):
        assert bad.status == Status.ERROR
        assert bad.error_code == "invalid_message"
        assert "interrupted" not in bad.error_message.lower()
        assert bad.tries == 0
    assert "TypeError" in broken_reminder.error_message
    assert "42" in not_a_string.error_message
    assert [r.message["Subject"] for r in starttls_server.wait_for(2)] == ["first", "last"]


def test_credentials_the_keys_cannot_open_hold_mail_as_queued_until_the_key_is_back(
    tenant_a, starttls_server, settings, admin_client_a
):
    use_smtp(tenant_a, starttls_server.port)
    old_keys = settings.FERNET_KEYS
    settings.FERNET_KEYS = [Fernet.generate_key().decode()]  # the operator dropped the old key
    emails = queue(tenant_a, 3)
    deliver_due(tenant_id=tenant_a.pk)

    for email in reload(emails):
        assert email.status == Status.QUEUED
        assert email.tries == 0
        assert email.error_message == CREDENTIALS_UNREADABLE
    config = OutgoingEmailSettings.objects.get(tenant=tenant_a)
    assert config.last_result_ok is True  # not the tenant's fault
    listed = admin_client_a.get("/communications/").content.decode()
    assert CREDENTIALS_UNREADABLE in listed
    page = admin_client_a.get("/settings/email/outgoing/").content.decode()
    assert "cannot be read" in page and "enter the password again" in page

    settings.FERNET_KEYS = old_keys  # the key is back
    OutboundEmail.objects.update(next_attempt_at=datetime.datetime.now(datetime.UTC))
    assert deliver_due(tenant_id=tenant_a.pk) == 3
    assert {(e.status, e.error_message) for e in reload(emails)} == {(Status.SENT, "")}
    assert len(starttls_server.wait_for(3)) == 3


def test_the_failing_banner_clears_once_mail_goes_out_through_the_same_settings(
    tenant_a, starttls_server, admin_client_a
):
    config = use_smtp(tenant_a, starttls_server.port)
    mark_failing(
        config,
        SendFailure(code="certificate_invalid", message="The server's certificate is not valid."),
    )
    assert "Outgoing emails are failing" in admin_client_a.get("/").content.decode()
    queue(tenant_a, 1)
    deliver_due(tenant_id=tenant_a.pk)
    config.refresh_from_db()
    assert config.last_result_ok is True
    assert "Outgoing emails are failing" not in admin_client_a.get("/").content.decode()


def test_a_worker_with_the_old_password_does_not_blame_the_new_settings(
    tenant_a, starttls_server, admin_client_a
):
    stale = use_smtp(tenant_a, starttls_server.port)
    # An admin saves the settings again (new password) while a worker still holds `stale`.
    fresh = OutgoingEmailSettings.objects.get(pk=stale.pk)
    fresh.version += 1
    fresh.save()
    mark_failing(stale, SendFailure(code="auth_failed", message="Authentication failed."))
    fresh.refresh_from_db()
    assert fresh.last_result_ok is True and fresh.last_result_code == ""


@pytest.fixture
def broker_down(settings):
    """A real broker address where nothing listens: publishing fails as it would in
    production, through kombu's Redis transport."""
    from tests.smtp_servers import free_port
    from yaypay_mail.celery import app

    names = ("broker_url", "broker_write_url", "task_always_eager", "broker_transport_options")
    saved = {name: app.conf[name] for name in names}
    app.conf.broker_url = app.conf.broker_write_url = f"redis://127.0.0.1:{free_port()}/0"
    app.conf.task_always_eager = False
    app.conf.broker_transport_options = {"socket_connect_timeout": 1, "max_retries": 1}
    app._pool = app.amqp._producer_pool = None  # new connections to the new address
    tasks._broker_down_log.last = float("-inf")  # as in a fresh process
    yield
    app.conf.update(saved)
    app._pool = app.amqp._producer_pool = None


def test_resend_while_the_broker_is_down_answers_normally_and_stays_queued(
    tenant_a, collector_client_a, broker_down, caplog, django_capture_on_commit_callbacks
):
    emails = [make_email(tenant_a, status=Status.ERROR, subject=f"e{n}") for n in range(3)]
    for email in emails:
        with django_capture_on_commit_callbacks(execute=True) as published:
            response = collector_client_a.post(
                f"/communications/{email.pk}/resend/", {"next": "/communications/"}, follow=True
            )
        assert len(published) == 1  # the delivery request was really tried
        assert response.status_code == 200
        assert "Queued to send again." in response.content.decode()
    assert {e.status for e in reload(emails)} == {Status.QUEUED}
    broker_errors = [r for r in caplog.records if "Broker unreachable" in r.getMessage()]
    assert len(broker_errors) == 1  # once a minute, not once per message


def test_the_service_still_answers_when_publishing_fails(
    tenant_a, broker_down, django_capture_on_commit_callbacks
):
    email = make_email(tenant_a, status=Status.ERROR)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_resend(email=email).ok
    assert reload([email])[0].status == Status.QUEUED


@pytest.mark.parametrize("cc", [["not an address"], ["ok@client.example", 7], "x@y.example"])
def test_addresses_are_checked_where_they_are_written(tenant_a, cc):
    from django.core.exceptions import ValidationError

    from outbox.services import NewEmail, outbox_enqueue_many
    from yaypay_mail.models import Customer

    customer = Customer(tenant=tenant_a, name="Initech", billing_email="ap@initech.example")
    customer.cc_emails = cc
    with pytest.raises(ValidationError) as refused:
        customer.full_clean()
    assert "cc_emails" in refused.value.message_dict
    with pytest.raises(ValidationError):
        outbox_enqueue_many(
            tenant=tenant_a,
            emails=[NewEmail(to=["ap@initech.example"], cc=cc, subject="s", text="t")],
        )
    assert not OutboundEmail.objects.exists()


def test_a_server_that_stalls_in_data_costs_one_uncertain_email_not_one_per_time_out(
    tenant_a, raw_server_factory, test_ca, smtp_env
):
    # The first end of DATA goes unanswered; later ones get the default 250.
    server = raw_server_factory("scripted", ca=test_ca, script={"end_of_data": ["STALL"]})
    use_smtp(tenant_a, server.port)
    emails = queue(tenant_a, 5, kick=False)
    before = timezone.now()

    assert deliver_due(tenant_id=tenant_a.pk) == 0

    first, *rest = reload(emails)
    assert (first.status, first.error_code) == (Status.ERROR, "interrupted")
    # Only one message met the stall: the rest went back untried, with the reason.
    assert [c.upper() for c in server.commands].count("DATA") == 1
    for email in rest:
        assert (email.status, email.tries, email.error_code) == (Status.QUEUED, 0, "server_stalled")
        assert "did not answer the previous email" in email.error_message
        assert email.next_attempt_at >= before + datetime.timedelta(minutes=1)
        assert not email.attempts.exists()

    # A minute later the server answers again: the four go out once each, and the
    # uncertain one is never sent again.
    OutboundEmail.objects.filter(status=Status.QUEUED).update(next_attempt_at=timezone.now())
    assert deliver_due(tenant_id=tenant_a.pk) == 4
    sent_ids = [parse_message_id(data) for data in server.received]
    assert sorted(sent_ids) == sorted(email.message_id for email in rest)
    assert first.message_id not in sent_ids


def parse_message_id(data: bytes) -> str:
    from email import message_from_bytes

    return message_from_bytes(data)["Message-ID"]
