"""The SIGKILL drill through a mailbox connected with OAuth: a real Celery worker sends
through the Microsoft Graph stand-in, is killed mid-batch, and a fresh worker's reaper
settles the rest. Counted by Message-ID at the stand-in: nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest
from django.test import Client

from outbox.models import OutboundEmail, SendingLimits, Status
from routes.failures import INTERRUPTED
from routes.models import OutgoingEmailSettings
from tests.communications.outbox_helpers import queue
from tests.faults.test_fault_drills import Worker, broker, database_url, drain, settled, wait_for
from tests.oauth_fixtures import MS_ACCOUNT, MS_SHARED, connect

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
__all__ = ["broker"]  # the module fixture, shared with the SMTP drills


@pytest.fixture
def graph_drill(tenant_a, admin_a, oauth_env, tmp_path, broker, settings):
    client = Client()
    client.force_login(admin_a, backend="yaypay_mail.auth.EmailBackend")
    connect(client, oauth_env, "microsoft", MS_ACCOUNT)
    OutgoingEmailSettings.objects.update_or_create(
        tenant=tenant_a,
        defaults={"use_server": "microsoft", "from_email": MS_SHARED, "last_result_ok": True},
    )
    SendingLimits.objects.update_or_create(
        tenant=tenant_a, defaults={"per_minute_limit": 10_000, "per_day_limit": 100_000}
    )
    env = {
        **os.environ,
        **oauth_env.settings(),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL")
        or f"redis://127.0.0.1:6379/{os.environ.get('FAULT_DRILL_BROKER_DB', '13')}",
        "SMTP_TIMEOUT": "2",
        "OAUTH_HTTP_TIMEOUT": "2",
        "OUTBOX_LEASE_SECONDS": "6",
        "FERNET_KEYS": ",".join(settings.FERNET_KEYS),
    }
    worker = Worker(tmp_path, env)
    yield tenant_a, oauth_env, worker
    worker.stop()
    broker.control.purge()


def test_a_worker_killed_while_sending_through_graph_loses_nothing(graph_drill, broker):
    tenant, standin, worker = graph_drill
    # Each send takes 0.15 s at the "provider", so the kill lands mid-batch.
    standin.fail_next("ms_send", "stall", seconds=0.15, times=100)
    emails = queue(tenant, 30, kick=False)
    worker.start()
    drain(broker)
    wait_for(lambda: len(standin.sent) >= 5, 60, "the first deliveries", worker)
    worker.kill(signal.SIGKILL)
    killed_at = time.monotonic()
    assert OutboundEmail.objects.filter(status=Status.SENDING).exists()

    worker.start()
    rows = wait_for(lambda: settled(emails), 150, "recovery", worker)
    received = Counter(sent.message_id for sent in standin.sent)
    assert [mid for mid, n in received.items() if n > 1] == [], "received twice"
    outcomes = Counter()
    for row in rows:
        if row.status == Status.SENT:
            assert received[row.message_id] == 1, f"Sent but not received: {row.pk}"
            assert row.route == "microsoft"
            outcomes["sent"] += 1
        else:
            assert (row.status, row.error_code) == (Status.ERROR, "interrupted"), row.error_code
            assert row.error_message.startswith(INTERRUPTED)
            outcomes["interrupted"] += 1
    assert outcomes["interrupted"] <= 1
    assert outcomes["sent"] + outcomes["interrupted"] == 30
    print(f"\nGraph SIGKILL drill: settled {time.monotonic() - killed_at:.1f} s after the kill")
