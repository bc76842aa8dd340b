"""Beat's heartbeat: one row holding the time of beat's last tick."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

HEARTBEAT_ID = 1


class BeatHeartbeat(models.Model):
    """A single row (id 1), written by the beat_heartbeat task each time beat sends it
    and a worker runs it; /healthz reads its age."""

    last_tick = models.DateTimeField()

    class Meta:
        verbose_name = "beat heartbeat"

    def __str__(self) -> str:
        return f"Beat's last tick at {self.last_tick:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def tick(cls) -> BeatHeartbeat:
        row, _ = cls.objects.update_or_create(
            pk=HEARTBEAT_ID, defaults={"last_tick": timezone.now()}
        )
        return row

    @classmethod
    def last(cls):
        """The time of the last tick, or None if beat never ticked."""
        return cls.objects.filter(pk=HEARTBEAT_ID).values_list("last_tick", flat=True).first()
