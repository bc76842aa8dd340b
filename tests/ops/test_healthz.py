"""/healthz against a real database and a real Redis broker (db 14)."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from ops.models import BeatHeartbeat
from ops.tasks import beat_heartbeat

REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def redis_broker(settings):
    """Tasks go through Redis, as in production (the suite otherwise runs them eagerly)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = REDIS_URL
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    return settings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket closes


def get_healthz():
    return Client().get("/healthz")  # anonymous, like a load balancer


@pytest.mark.django_db
def test_all_ok_with_a_real_database_broker_and_a_fresh_beat_tick(redis_broker):
    beat_heartbeat.apply()

    response = get_healthz()

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"database": "ok", "broker": "ok", "beat": "ok"}


@pytest.mark.django_db
def test_answers_without_login_and_is_not_cached(redis_broker):
    beat_heartbeat.apply()

    response = get_healthz()

    assert response.status_code == 200  # not a redirect to the login page
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_stale_beat_tick_is_503_naming_beat(redis_broker):
    beat_heartbeat.apply()

    with time_machine.travel(timezone.now() + timedelta(minutes=3), tick=False):
        response = get_healthz()

    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert body["beat"] == "stale: last tick 180 s ago"


@pytest.mark.django_db
def test_a_tick_within_two_minutes_is_still_ok(redis_broker):
    beat_heartbeat.apply()

    with time_machine.travel(timezone.now() + timedelta(seconds=100), tick=False):
        response = get_healthz()

    assert response.status_code == 200


@pytest.mark.django_db
def test_beat_that_never_ticked_is_503(redis_broker):
    response = get_healthz()

    assert response.status_code == 503
    assert response.json()["beat"] == "no tick yet"


@pytest.mark.django_db
def test_an_unreachable_broker_is_503_naming_the_broker_without_its_url(redis_broker):
    port = closed_port()
    redis_broker.CELERY_BROKER_URL = f"redis://:broker-pw-2026@127.0.0.1:{port}/14"
    beat_heartbeat.apply()

    response = get_healthz()

    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["beat"] == "ok"
    assert body["broker"].startswith("unreachable: ")
    text = response.content.decode()
    assert "broker-pw-2026" not in text and str(port) not in text and "redis" not in text


@pytest.mark.django_db
def test_eager_mode_has_no_broker_to_reach_and_reports_it_ok(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_BROKER_URL = "memory://"
    beat_heartbeat.apply()

    assert get_healthz().json() == {"database": "ok", "broker": "ok", "beat": "ok"}


@pytest.mark.django_db
def test_the_heartbeat_task_records_the_time_of_its_tick():
    assert BeatHeartbeat.last() is None
    moment = timezone.now().replace(microsecond=0) + timedelta(days=1)

    with time_machine.travel(moment, tick=False):
        beat_heartbeat.apply()
    with time_machine.travel(moment + timedelta(seconds=15), tick=False):
        beat_heartbeat.apply()

    assert BeatHeartbeat.objects.count() == 1
    assert BeatHeartbeat.last() == moment + timedelta(seconds=15)


def test_beat_sends_the_heartbeat_every_15_seconds(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["beat-heartbeat"]
    assert entry["task"] == "ops.tasks.beat_heartbeat"
    assert entry["schedule"] == 15.0
