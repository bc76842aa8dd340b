"""Events counted by the rate limits (failed logins per address, reset requests)."""

from __future__ import annotations

from django.db import models


class RateEvent(models.Model):
    """One counted event: `kind` says which limit, `key` whose (an address or a hash)."""

    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=128)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "key", "at"], name="rate_event_lookup")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} at {self.at:%Y-%m-%d %H:%M:%S}"
