"""How delivery treats trouble with the route itself: DNS, slow servers, the gateway,
bad addresses, and settings problems found while sending."""

from __future__ import annotations

import socket
import threading

import pytest
from django.db import connection

from outbox.delivery import deliver_due
from outbox.models import OutboundEmail, Status
from outbox.services import NewEmail, outbox_enqueue_many
from routes.models import OutgoingEmailSettings
from tests.communications.outbox_helpers import queue, reload, use_smtp
from tests.smtp_fixtures import point_gateway_at
from tests.smtp_servers import make_test_ca


def test_a_dns_failure_at_send_time_is_retried_not_an_error(tenant_a, monkeypatch, settings):
    use_smtp(tenant_a, 587, host="mail.acme.example")
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == "mail.acme.example":
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    (email,) = queue(tenant_a, 1)
    deliver_due(tenant_id=tenant_a.pk)
    (email,) = reload([email])
    assert email.status == Status.QUEUED and email.tries == 1
    assert "did not resolve" in email.error_message
    assert OutgoingEmailSettings.objects.get(tenant=tenant_a).last_result_ok is True


@pytest.mark.django_db(transaction=True)
def test_each_message_is_bounded_by_the_deadline_not_only_by_the_per_command_timeout(
    tenant_a, raw_server_factory, test_ca, smtp_env, monkeypatch
):
    # Committed at once here; without this, eager tasks would deliver while queueing.
    monkeypatch.setattr("outbox.services.kick_delivery", lambda **kwargs: None)
    smtp_env.SMTP_TIMEOUT = 120
    smtp_env.SMTP_DEADLINE = 0.5
    server = raw_server_factory("scripted", ca=test_ca, script={"rcpt": "STALL"})
    use_smtp(tenant_a, server.port)
    emails = queue(tenant_a, 1)
    errors = []

    def worker():
        try:
            deliver_due(tenant_id=tenant_a.pk)
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(60)  # far below the 120 s per-command time-out
    assert not thread.is_alive()
    assert errors == []
    (email,) = reload(emails)
    assert email.status == Status.QUEUED
    assert "stopped answering" in email.error_message


@pytest.fixture
def broken_gateway(smtp_server_factory, settings):
    server = smtp_server_factory(mode="starttls")
    point_gateway_at(settings, server, password="the-operator-typed-it-wrong")
    return server


def test_a_gateway_login_failure_is_temporary_and_not_blamed_on_the_tenant(
    tenant_a, broken_gateway
):
    OutgoingEmailSettings.objects.update_or_create(
        tenant=tenant_a, defaults={"use_server": "gateway"}
    )[0]
    emails = queue(tenant_a, 2)
    deliver_due(tenant_id=tenant_a.pk)
    for email in reload(emails):
        assert email.status == Status.QUEUED
        assert email.error_message.startswith("YayPay's email gateway could not take this email")
        assert "Username" not in email.error_message and "localhost" not in email.error_message
    config = OutgoingEmailSettings.objects.get(tenant=tenant_a)
    assert config.last_result_code == ""


def test_a_malformed_address_errors_its_own_email_and_the_rest_go_out(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    emails = outbox_enqueue_many(
        tenant=tenant_a,
        kick=False,
        emails=[
            NewEmail(to=["ok1@client.example"], subject="one", text="1"),
            NewEmail(to=["ok2@client.example"], subject="two", text="2"),
            NewEmail(to=["ok3@client.example"], subject="three", text="3"),
        ],
    )
    # Written past the services (an old row, a hand edit): the worker still copes.
    OutboundEmail.objects.filter(pk=emails[1].pk).update(
        cc_addresses=["bad\r\nBcc: x@evil.example"]
    )
    assert deliver_due(tenant_id=tenant_a.pk) == 2
    first, bad, third = reload(emails)
    assert (first.status, third.status) == (Status.SENT, Status.SENT)
    assert bad.status == Status.ERROR and bad.error_code == "invalid_message"
    assert [r.message["Subject"] for r in starttls_server.wait_for(2)] == ["one", "three"]


def test_a_certificate_problem_found_while_sending_shows_on_the_settings(
    tenant_a, smtp_server_factory, tmp_path, smtp_env
):
    other = make_test_ca(tmp_path, server_names=("other.example",), server_ips=())
    smtp_env.SMTP_CA_FILE = str(other.ca_path)
    server = smtp_server_factory(ca=other, mode="starttls")
    use_smtp(tenant_a, server.port)
    emails = queue(tenant_a, 2)
    deliver_due(tenant_id=tenant_a.pk)
    assert {e.status for e in reload(emails)} == {Status.ERROR}
    config = OutgoingEmailSettings.objects.get(tenant=tenant_a)
    assert config.last_result_ok is False and config.last_result_code == "certificate_invalid"
    assert "not valid for localhost" in config.last_result_message
