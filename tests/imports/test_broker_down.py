"""An upload while the broker (Redis) is down answers normally; beat's sweep sends the
check again once the broker is back, and a check never runs twice."""

from __future__ import annotations

import datetime
import logging
import socket

import pytest
import time_machine
from django.utils import timezone

from imports.models import ImportJob, JobStatus, StagedRow
from imports.tasks import preview_import, resend_stalled_imports
from tests.imports.conftest import CUSTOMERS_HEADER, csv_bytes, visible_text
from yaypay_mail.models import Customer

CUSTOMERS = csv_bytes(
    CUSTOMERS_HEADER, "C-1,Northwind,ap@nw.example,,no", "C-2,Contoso,ap@contoso.example,,no"
)
NAMES = ("broker_url", "broker_write_url", "task_always_eager", "broker_transport_options")


class Broker:
    """The app's broker pointed at a port this test owns and does not listen on, so
    publishing fails as it does in production with Redis down; `back()` restores the
    test's in-process broker."""

    def __init__(self):
        from yaypay_mail.celery import app

        self.app = app
        self.saved = {name: app.conf[name] for name in NAMES}
        self.closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused

    def down(self) -> None:
        url = f"redis://127.0.0.1:{self.closed.getsockname()[1]}/0"
        self.app.conf.broker_url = self.app.conf.broker_write_url = url
        self.app.conf.task_always_eager = False
        self.app.conf.broker_transport_options = {"socket_connect_timeout": 1, "max_retries": 1}
        self.app._pool = self.app.amqp._producer_pool = None

    def back(self) -> None:
        self.app.conf.update(self.saved)
        self.app._pool = self.app.amqp._producer_pool = None


@pytest.fixture
def broker():
    broker = Broker()
    yield broker
    broker.back()
    broker.closed.close()


def later(minutes: float):
    return time_machine.travel(timezone.now() + datetime.timedelta(minutes=minutes), tick=False)


def test_an_upload_while_the_broker_is_down_is_checked_by_the_sweep_once_it_is_back(
    upload, confirm, admin_client_a, broker, caplog, tenant_a
):
    broker.down()
    with caplog.at_level(logging.ERROR, logger="imports.publish"):
        uploaded = upload(CUSTOMERS, name="may.csv")
    assert uploaded.response.status_code == 302
    job = uploaded.job
    assert job.status == JobStatus.UPLOADED
    assert "Checking the file" in uploaded.page
    assert "Waiting for a worker to start" in uploaded.page
    assert "starts by itself within a few minutes" in uploaded.page
    assert StagedRow.objects.filter(job=job).count() == 2
    assert any("Broker unreachable" in r.getMessage() for r in caplog.records)

    broker.back()
    with later(1):
        assert resend_stalled_imports() == 0  # not stalled yet: a worker may still take it
    job.refresh_from_db()
    assert job.status == JobStatus.UPLOADED

    with later(3):
        assert resend_stalled_imports() == 1
        assert resend_stalled_imports() == 0  # checked now: nothing left to re-send
    job.refresh_from_db()
    assert job.status == JobStatus.PREVIEWED
    page = visible_text(admin_client_a.get(f"/imports/{job.pk}/"))
    assert "Preview: 2 new, 0 updated, 0 unchanged customers." in page
    assert "Imported: 2 new" in confirm(job)
    assert Customer.objects.filter(tenant=tenant_a).count() == 2


def test_a_sweep_that_fails_too_leaves_the_job_for_the_next_sweep(upload, broker):
    broker.down()
    job = upload(CUSTOMERS).job
    with later(3):
        assert resend_stalled_imports() == 0  # the broker is still down
    broker.back()
    with later(6):
        assert resend_stalled_imports() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.PREVIEWED


# Committed as in production (no request-wide transaction), so the publish runs, and
# fails, within the request that confirms.
@pytest.mark.django_db(transaction=True)
def test_confirming_while_the_broker_is_down_says_so_and_can_be_done_again(
    upload, admin_client_a, broker, tenant_a
):
    job = upload(CUSTOMERS).job
    assert job.status == JobStatus.PREVIEWED
    broker.down()
    response = admin_client_a.post(f"/imports/{job.pk}/confirm/", follow=True)
    assert response.status_code == 200
    page = visible_text(response)
    assert "The import could not be started" in page
    assert "Nothing was imported; confirm again in a minute." in page
    assert "Confirm import" in page
    job.refresh_from_db()
    assert job.status == JobStatus.PREVIEWED
    assert not Customer.objects.exists()

    broker.back()
    admin_client_a.post(f"/imports/{job.pk}/confirm/")
    assert Customer.objects.filter(tenant=tenant_a).count() == 2


def test_a_check_that_is_running_is_not_taken_again(upload, broker):
    broker.down()
    job = upload(CUSTOMERS).job
    broker.back()
    # A worker has taken the check and reports progress: a second delivery does nothing.
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.PREVIEWING, heartbeat_at=timezone.now(), check_run=1
    )
    preview_import.delay(job.pk)
    with later(1):
        assert resend_stalled_imports() == 0
    job.refresh_from_db()
    assert (job.status, job.created) == (JobStatus.PREVIEWING, 0)

    # Its worker died: the sweep sends it again, and the check runs once.
    with later(3):
        assert resend_stalled_imports() == 1
    job.refresh_from_db()
    assert (job.status, job.created, job.check_run) == (JobStatus.PREVIEWED, 2, 2)
    # The original delivery coming back late changes nothing.
    preview_import.delay(job.pk)
    job.refresh_from_db()
    assert (job.status, job.check_run) == (JobStatus.PREVIEWED, 2)


def test_the_sweep_runs_on_beat(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE.values()
    assert any(
        entry["task"] == "imports.tasks.resend_stalled_imports" and entry["schedule"] <= 60
        for entry in schedule
    )
