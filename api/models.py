"""Per-tenant API tokens: stored only as a SHA-256 hash, with a short prefix to show."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from yaypay_mail.models import Tenant


class ApiToken(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The token's first characters, shown on the settings page to tell tokens apart.
    prefix = models.CharField(max_length=16)
    # sha256 of the whole token (hex). The token itself is shown once and never stored.
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The rate limit's fixed window: the minute it counts, and the requests admitted in it.
    window_start = models.DateTimeField(null=True, blank=True)
    window_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="api_token_tenant")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
