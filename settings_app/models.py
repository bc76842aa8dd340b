"""The audit trail of a tenant's outgoing email settings: changes, tests, connections."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from yaypay_mail.models import Tenant


class AuditAction(models.TextChoices):
    CHANGED = "changed", "Settings changed"
    TESTED = "tested", "Test message"
    CONNECTED = "connected", "Mailbox connected"
    DISCONNECTED = "disconnected", "Mailbox disconnected"


class SettingsAuditEntry(models.Model):
    """Who changed or tested the outgoing email settings, when, which fields, and the
    result. It records field names, never values of secrets."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="email_audit")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=12, choices=AuditAction.choices)
    changed_fields = models.JSONField(default=list, blank=True)
    result_ok = models.BooleanField(null=True)
    result = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # The per-tenant test limit counts this tenant's tests in the last hour.
            models.Index(fields=["tenant", "action", "at"], name="audit_tenant_action_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"
