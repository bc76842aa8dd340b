"""Claim, send and record against real SMTP servers, well-behaved and not."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from outbox.delivery import _message_for, deliver_due
from outbox.leases import (
    WORKER_DIED,
    LeaseHeartbeat,
    claim_batch,
    mark_sending_started,
    reap_expired_leases,
)
from outbox.models import DeliveryAttempt, OutboundEmail, SendingLimits, Status
from outbox.outcomes import record_sent
from outbox.services import RESEND_BLOCKED, outbox_resend
from routes.choice import route_for
from routes.config import identity_for
from routes.failures import INTERRUPTED
from routes.models import OutgoingEmailSettings
from tests.communications.outbox_helpers import queue, reload, use_smtp
from tests.smtp_fixtures import MAILBOX_LOGIN, MAILBOX_PASSWORD


@pytest.fixture
def raw_tls(raw_server_factory, test_ca):
    """A scripted misbehaving server that still offers STARTTLS, as tenants' servers must."""

    def start(script):
        return raw_server_factory("scripted", ca=test_ca, script=script)

    return start


def test_a_batch_goes_out_over_one_connection_with_its_message_ids(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    emails = queue(tenant_a, 3)
    assert deliver_due(tenant_id=tenant_a.pk) == 3

    received = starttls_server.wait_for(3)
    assert [r.message["Message-ID"] for r in received] == [e.message_id for e in emails]
    assert received[0].message["From"] == "Acme AR <ar@acme.example>"
    assert starttls_server.auth_attempts == [MAILBOX_LOGIN]  # one login for the batch
    for email in reload(emails):
        assert email.status == Status.SENT and email.sent_at and email.tries == 1
        assert [a.outcome for a in email.attempts.all()] == ["sent"]


# --- a misbehaving server ----------------------------------------------------------

RETRY, ERROR = "retry", "error"


@pytest.mark.parametrize(
    "script,expected,reason",
    [
        ({"greeting": "421 4.7.0 Too busy, try later"}, RETRY, "421 4.7.0"),
        ({"mail": "451 4.3.0 Temporary local problem"}, RETRY, "451 4.3.0"),
        (
            {"mail": "550 5.7.1 Not allowed to send as this address"},
            ERROR,
            "The server refused the sender",
        ),
        ({"rcpt": "451 4.2.0 Mailbox busy"}, RETRY, "451 4.2.0"),
        (
            {"rcpt": "550 5.1.1 No such user"},
            ERROR,
            "The server refused the recipient customer@client.example",
        ),
        ({"data": "451 4.3.0 Not now"}, RETRY, "451 4.3.0"),
        ({"data": "554 5.5.1 Transaction failed"}, ERROR, "The server refused the message"),
        ({"end_of_data": "451 4.3.0 Queue full"}, RETRY, "451 4.3.0"),
        (
            {"end_of_data": "550 5.7.1 Message rejected as spam"},
            ERROR,
            "550 5.7.1 Message rejected as spam",
        ),
        ({"auth": "535 5.7.8 Username and Password not accepted"}, ERROR, "Authentication failed."),
        ({"mail": "DROP"}, RETRY, "Connection dropped by server"),
        ({"end_of_data": "DROP"}, ERROR, INTERRUPTED),
        ({"rcpt": "STALL"}, RETRY, "stopped answering"),
    ],
    ids=[
        "421-greeting",
        "451-mail",
        "550-mail",
        "451-rcpt",
        "550-rcpt",
        "451-data",
        "554-data",
        "451-after-dot",
        "550-after-dot",
        "535-auth",
        "drop-before-data",
        "drop-after-dot",
        "stall",
    ],
)
def test_each_failure_is_retried_or_ends_as_error(
    tenant_a, raw_tls, smtp_env, script, expected, reason
):
    smtp_env.SMTP_TIMEOUT = 0.5
    server = raw_tls(script)
    use_smtp(tenant_a, server.port)
    (email,) = queue(tenant_a, 1)
    before = timezone.now()

    assert deliver_due(tenant_id=tenant_a.pk) == 0

    (email,) = reload([email])
    assert reason in email.error_message
    assert email.tries == 1
    if expected == RETRY:
        assert email.status == Status.QUEUED
        assert email.next_attempt_at >= before + timedelta(minutes=1)
    else:
        assert email.status == Status.ERROR
    assert server.received == []
    (attempt,) = email.attempts.all()
    assert attempt.outcome == ("interrupted" if reason == INTERRUPTED else expected)


def test_temporary_failures_back_off_1_5_15_60_240_minutes_then_end_as_error(tenant_a, raw_tls):
    server = raw_tls({"mail": "451 4.3.0 Try again later"})
    use_smtp(tenant_a, server.port)
    (email,) = queue(tenant_a, 1)
    gaps = []
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(6):
            deliver_due(tenant_id=tenant_a.pk)
            (email,) = reload([email])
            if email.status == Status.QUEUED:
                gaps.append(round((email.next_attempt_at - timezone.now()).total_seconds() / 60))
                clock.move_to(email.next_attempt_at)
    assert gaps == [1, 5, 15, 60, 240]
    assert email.status == Status.ERROR and email.tries == 6
    assert email.attempts.count() == 6


def test_mail_that_is_not_yet_due_waits(tenant_a, raw_tls):
    server = raw_tls({"mail": "451 4.3.0 Later"})
    use_smtp(tenant_a, server.port)
    queue(tenant_a, 1)
    deliver_due(tenant_id=tenant_a.pk)
    connections = server.connections
    deliver_due(tenant_id=tenant_a.pk)  # backoff not over: nobody connects
    assert server.connections == connections


def test_a_dropped_idle_connection_is_reopened_once(tenant_a, raw_tls):
    # The second message finds the connection closed, as a server does with idle ones.
    server = raw_tls({"mail": [None, "DROP"]})
    use_smtp(tenant_a, server.port)
    emails = queue(tenant_a, 2)
    assert deliver_due(tenant_id=tenant_a.pk) == 2
    assert [e.status for e in reload(emails)] == [Status.SENT, Status.SENT]
    assert server.connections == 2


def test_it_reconnects_only_once_for_a_message(tenant_a, raw_tls):
    server = raw_tls({"mail": [None, "DROP", "DROP"]})
    use_smtp(tenant_a, server.port)
    emails = queue(tenant_a, 2)
    deliver_due(tenant_id=tenant_a.pk)
    first, second = reload(emails)
    assert first.status == Status.SENT
    assert second.status == Status.QUEUED and second.tries == 1
    assert server.connections == 2


# --- leases --------------------------------------------------------------------


def expire_leases() -> None:
    """The database's clock decides when a lease has expired; move the leases, not time."""
    OutboundEmail.objects.filter(status=Status.SENDING).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_an_expired_lease_before_the_send_started_goes_back_to_the_queue(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    emails = queue(tenant_a, 3, kick=False)
    claimed = claim_batch(tenant_id=tenant_a.pk, owner="dead-worker", limit=10)
    assert len(claimed) == 3  # ...and the worker died before connecting

    assert deliver_due(tenant_id=tenant_a.pk) == 0  # held by the lease: not sent twice
    assert reap_expired_leases() == set()  # not expired yet
    expire_leases()
    assert reap_expired_leases() == {tenant_a.pk}
    assert [e.status for e in reload(emails)] == [Status.QUEUED] * 3
    assert [e.tries for e in reload(emails)] == [0, 0, 0]
    assert deliver_due(tenant_id=tenant_a.pk) == 3
    assert len(starttls_server.wait_for(3)) == 3


def test_a_worker_clock_far_ahead_cannot_take_a_live_lease(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    emails = queue(tenant_a, 2, kick=False)
    claim_batch(tenant_id=tenant_a.pk, owner="live-worker", limit=10)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):  # this machine's clock only
        assert reap_expired_leases() == set()
    assert {e.status for e in reload(emails)} == {Status.SENDING}


def test_an_expired_lease_after_the_send_started_errors_only_the_message_in_flight(
    tenant_a, starttls_server
):
    use_smtp(tenant_a, starttls_server.port)
    first, second, third = queue(tenant_a, 3, kick=False)
    batch = claim_batch(tenant_id=tenant_a.pk, owner="dying-worker", limit=10)
    mark_sending_started(owner="dying-worker")
    config = OutgoingEmailSettings.objects.get(tenant=tenant_a)

    with route_for(config, timeout=2) as route:
        route.send(_message_for(batch[0], identity_for(config)))
        record_sent(batch[0], owner="dying-worker")
        route.send(_message_for(batch[1], identity_for(config)))
        # ...the worker dies before recording the second message.

    expire_leases()
    reap_expired_leases()
    first, second, third = reload([first, second, third])
    assert first.status == Status.SENT
    assert second.status == Status.ERROR
    assert second.error_message.startswith(INTERRUPTED)
    assert third.status == Status.QUEUED and third.tries == 0
    deliver_due(tenant_id=tenant_a.pk)

    received = starttls_server.wait_for(3)
    assert sorted(r.message["Subject"] for r in received) == [
        "Reminder 0",
        "Reminder 1",
        "Reminder 2",
    ]
    assert reload([third])[0].status == Status.SENT


def test_a_message_claimed_five_times_without_an_outcome_ends_as_error(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    (email,) = queue(tenant_a, 1, kick=False)
    for claim in range(1, 6):
        assert len(claim_batch(tenant_id=tenant_a.pk, owner=f"dies-{claim}", limit=10)) == 1
        # ...the worker dies while preparing it, before any send.
        expire_leases()
        reap_expired_leases()
        email = reload([email])[0]
        if claim < 5:
            assert email.status == Status.QUEUED and email.tries == 0
    assert email.status == Status.ERROR
    assert email.error_message.startswith(WORKER_DIED)
    assert starttls_server.received == []


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_renews_the_lease_while_a_slow_batch_goes(
    tenant_a, starttls_server, settings
):
    settings.OUTBOX_LEASE_SECONDS = 3  # renewed every second
    use_smtp(tenant_a, starttls_server.port)
    emails = queue(tenant_a, 2, kick=False)
    claim_batch(tenant_id=tenant_a.pk, owner="slow-worker", limit=10)
    with LeaseHeartbeat("slow-worker") as heartbeat:
        end = time.monotonic() + 4.5  # one and a half leases
        while time.monotonic() < end:
            assert reap_expired_leases() == set()
            time.sleep(0.5)
        assert not heartbeat.lost.is_set()
    assert {e.status for e in reload(emails)} == {Status.SENDING}


@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_one_queue_send_each_message_exactly_once(
    tenant_a, starttls_server, monkeypatch
):
    # Committed at once here, so eager tasks would drain the queue while it is filled.
    monkeypatch.setattr("outbox.services.kick_delivery", lambda **kwargs: None)
    use_smtp(tenant_a, starttls_server.port)
    SendingLimits.objects.filter(tenant=tenant_a).update(
        per_minute_limit=10_000, per_day_limit=10_000
    )
    emails = queue(tenant_a, 40)
    start = threading.Barrier(2)
    errors = []

    def worker():
        try:
            start.wait()
            deliver_due(tenant_id=tenant_a.pk, batch_size=4)
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    received = starttls_server.wait_for(40)
    ids = [r.message["Message-ID"] for r in received]
    assert sorted(ids) == sorted(e.message_id for e in emails)
    assert len(set(ids)) == 40
    assert {e.status for e in reload(emails)} == {Status.SENT}
    assert len({a.worker for a in DeliveryAttempt.objects.all()}) == 2  # both took part


# --- authentication failure ----------------------------------------------------


def test_after_an_authentication_refusal_no_worker_logs_in_again(
    tenant_a, smtp_server_factory, admin_a, smtp_env
):
    server = smtp_server_factory(mode="starttls")
    use_smtp(tenant_a, server.port, password="stale-password")
    first = queue(tenant_a, 3)
    deliver_due(tenant_id=tenant_a.pk)
    assert server.auth_attempts == [MAILBOX_LOGIN]
    assert {e.status for e in reload(first)} == {Status.ERROR}
    assert all("Authentication failed." in e.error_message for e in reload(first))
    config = OutgoingEmailSettings.objects.get(tenant=tenant_a)
    assert config.last_result_ok is False and config.last_result_code == "auth_failed"

    later = queue(tenant_a, 2)
    deliver_due(tenant_id=tenant_a.pk)
    assert server.auth_attempts == [MAILBOX_LOGIN]  # no second login
    assert {e.status for e in reload(later)} == {Status.ERROR}
    result = outbox_resend(email=reload(later)[0])
    assert (result.ok, result.message) == (False, RESEND_BLOCKED)

    # Saving the settings runs a test, whose success lifts the block.
    from settings_app.services import save_and_test

    outcome = save_and_test(
        tenant=tenant_a,
        actor=admin_a,
        data={
            "use_server": "smtp",
            "from_email": "ar@acme.example",
            "sender_name": "Acme AR",
            "host": "localhost",
            "port": server.port,
            "username": MAILBOX_LOGIN,
            "password": MAILBOX_PASSWORD,
            "encryption": "tls",
        },
    )
    assert outcome.ok
    assert outbox_resend(email=reload(later)[0]).ok
    assert deliver_due(tenant_id=tenant_a.pk) == 1


# --- the gateway -----------------------------------------------------------------


def test_the_gateway_carries_the_mail_of_tenants_without_smtp(tenant_a, gateway):
    OutgoingEmailSettings.objects.update_or_create(
        tenant=tenant_a, defaults={"use_server": "gateway", "from_email": "ar@acme.example"}
    )[0]
    queue(tenant_a, 1)
    assert deliver_due(tenant_id=tenant_a.pk) == 1
    (received,) = gateway.wait_for(1)
    assert received.message["From"] == "Acme Corp via YayPay <no-reply@yaypay.com>"
    assert received.message["Reply-To"] == "ar@acme.example"


def test_the_gateway_never_carries_a_failing_tenants_mail(tenant_a, gateway, closed_port):
    use_smtp(
        tenant_a,
        closed_port,
        last_result_ok=False,
        last_result_code="auth_failed",
        last_result_message="Authentication failed.",
    )
    emails = queue(tenant_a, 1)
    deliver_due(tenant_id=tenant_a.pk)
    assert reload(emails)[0].status == Status.ERROR
    assert gateway.received == []


def test_a_host_the_guard_refuses_ends_as_error_without_a_connection(tenant_a, settings, gateway):
    use_smtp(tenant_a, 587, host="10.1.2.3")
    settings.SMTP_HOST_ALLOWLIST = []
    emails = queue(tenant_a, 1)
    deliver_due(tenant_id=tenant_a.pk)
    (email,) = reload(emails)
    assert email.status == Status.ERROR
    assert "Forbidden to use local or unknown host or not available port" in email.error_message
    assert gateway.received == []


# --- sending limits ------------------------------------------------------------


def test_mail_over_the_per_minute_limit_is_deferred_not_dropped(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    SendingLimits.objects.filter(tenant=tenant_a).update(per_minute_limit=2)
    emails = queue(tenant_a, 5)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert deliver_due(tenant_id=tenant_a.pk) == 2
        assert sorted(e.status for e in reload(emails)) == [Status.QUEUED] * 3 + [Status.SENT] * 2
        clock.shift(timedelta(seconds=61))
        assert deliver_due(tenant_id=tenant_a.pk) == 2
        clock.shift(timedelta(seconds=61))
        assert deliver_due(tenant_id=tenant_a.pk) == 1
    assert {e.status for e in reload(emails)} == {Status.SENT}


def test_mail_over_the_daily_limit_waits_for_the_next_local_day(tenant_a, starttls_server):
    use_smtp(tenant_a, starttls_server.port)
    SendingLimits.objects.filter(tenant=tenant_a).update(per_day_limit=2)
    tenant_a.time_zone = "America/New_York"
    tenant_a.save(update_fields=["time_zone"])
    emails = queue(tenant_a, 3)
    # 20:00 in New York is 01:00 UTC the next day: the local day decides.
    with time_machine.travel(
        timezone.datetime(2026, 11, 25, 20, 0, tzinfo=timezone.get_fixed_timezone(-300)), tick=False
    ) as clock:
        OutboundEmail.objects.update(next_attempt_at=timezone.now())
        assert deliver_due(tenant_id=tenant_a.pk) == 2
        clock.shift(timedelta(hours=2))  # 22:00 local, still the same day
        assert deliver_due(tenant_id=tenant_a.pk) == 0
        clock.shift(timedelta(hours=2, minutes=1))  # 00:01 local
        assert deliver_due(tenant_id=tenant_a.pk) == 1
    assert {e.status for e in reload(emails)} == {Status.SENT}


@pytest.mark.django_db(transaction=True)
def test_a_batch_whose_lease_is_not_being_renewed_stops_sending(
    tenant_a, starttls_server, settings
):
    from outbox.delivery import send_batch

    settings.OUTBOX_LEASE_SECONDS = 3
    use_smtp(tenant_a, starttls_server.port)
    emails = queue(tenant_a, 3, kick=False)
    batch = claim_batch(tenant_id=tenant_a.pk, owner="cut-off-worker", limit=10)
    # A heartbeat that never renews: its database is gone, or the process was paused.
    stalled = LeaseHeartbeat("cut-off-worker")
    time.sleep(2.1)  # two thirds of the lease without a renewal
    assert not stalled.held()
    assert send_batch(batch, owner="cut-off-worker", heartbeat=stalled) == 0
    assert starttls_server.received == []  # the reaper will hand them on; none went out here
    assert {e.status for e in reload(emails)} == {Status.SENDING}
