"""A real Celery worker on the configured broker (Redis in CI) drains the outbox.

On a fresh machine without CELERY_BROKER_URL, tasks run in-process (eager) when the
enqueueing transaction commits; the same assertions hold."""

from __future__ import annotations

import time
from contextlib import nullcontext

import pytest

from outbox.models import OutboundEmail, Status
from outbox.tasks import drain_due_mail
from tests.communications.outbox_helpers import queue, reload, use_smtp
from yaypay_mail.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker():
    if app.conf.task_always_eager:
        yield nullcontext()
        return
    from celery.contrib.testing.worker import start_worker

    app.control.purge()  # tasks left by earlier runs name tenants that no longer exist
    with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=30) as running:
        yield running


def wait_until_settled(emails, seconds=60):
    """Polls the database until no email is queued or sending (a wait, not a timing check)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        current = reload(emails)
        if all(e.status not in (Status.QUEUED, Status.SENDING) for e in current):
            return current
        time.sleep(0.1)
    return reload(emails)


def test_queued_mail_is_delivered_by_the_worker_after_commit(tenant_a, starttls_server, worker):
    use_smtp(tenant_a, starttls_server.port)
    emails = queue(tenant_a, 3)
    settled = wait_until_settled(emails)
    assert [e.status for e in settled] == [Status.SENT] * 3
    assert len(starttls_server.wait_for(3)) == 3


def test_the_periodic_drain_picks_up_mail_nobody_asked_a_worker_for(
    tenant_a, starttls_server, worker
):
    use_smtp(tenant_a, starttls_server.port)
    emails = queue(tenant_a, 2, kick=False)
    assert {e.status for e in reload(emails)} == {Status.QUEUED}
    drain_due_mail.delay()
    settled = wait_until_settled(emails)
    assert [e.status for e in settled] == [Status.SENT] * 2
    assert OutboundEmail.objects.filter(status=Status.SENT).count() == 2
