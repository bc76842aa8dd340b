"""The three checks behind /healthz. Each returns "ok" or a short reason; a reason
names an exception class at most, never a URL, host or password."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

from .models import BeatHeartbeat

OK = "ok"
# Beat sends the heartbeat every 15 s; this much silence means beat (or every worker) is gone.
BEAT_STALE_AFTER = timedelta(minutes=2)
BROKER_TIMEOUT = 2.0


def _reason(prefix: str, exc: BaseException) -> str:
    return f"{prefix}: {type(exc).__name__}"


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return _reason("unreachable", exc)
    return OK


def check_broker() -> str:
    """Connect to CELERY_BROKER_URL once, within BROKER_TIMEOUT seconds. When tasks run
    in-process (no CELERY_BROKER_URL: CELERY_TASK_ALWAYS_EAGER), there is no broker to
    reach and that is the configured mode: "ok"."""
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return OK
    broker = Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=BROKER_TIMEOUT,
        transport_options={
            **getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
            "socket_timeout": BROKER_TIMEOUT,
            "socket_connect_timeout": BROKER_TIMEOUT,
        },
    )
    try:
        broker.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT)
    except Exception as exc:  # noqa: BLE001
        cause = exc.__cause__ or exc.__context__
        return _reason("unreachable", cause if cause is not None else exc)
    finally:
        broker.release()
    return OK


def check_beat() -> str:
    try:
        last = BeatHeartbeat.last()
    except Exception as exc:  # noqa: BLE001 - no table yet, or no database
        return _reason("unreadable", exc)
    if last is None:
        return "no tick yet"
    age = timezone.now() - last
    if age > BEAT_STALE_AFTER:
        return f"stale: last tick {int(age.total_seconds())} s ago"
    return OK


def health() -> dict[str, str]:
    return {"database": check_database(), "broker": check_broker(), "beat": check_beat()}
