"""Beat sends beat_heartbeat every 15 s (CELERY_BEAT_SCHEDULE); a worker runs it. A
fresh tick therefore proves that beat runs, the broker carries its tasks and a worker
executes them."""

from __future__ import annotations

from celery import shared_task

from .models import BeatHeartbeat


@shared_task(ignore_result=True)
def beat_heartbeat() -> None:
    BeatHeartbeat.tick()
