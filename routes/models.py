"""How a tenant's mail leaves: its outgoing mail server settings and its connected mailboxes."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from yaypay_mail.models import Tenant


class UseServer(models.TextChoices):
    GATEWAY = "gateway", "Default gateway (no-reply@yaypay.com)"
    SMTP = "smtp", "SMTP"
    MICROSOFT = "microsoft", "Microsoft 365"
    GOOGLE = "google", "Google"


class Provider(models.TextChoices):
    """Mailboxes connected with OAuth and reached through the provider's HTTPS API."""

    MICROSOFT = "microsoft", "Microsoft 365"
    GOOGLE = "google", "Google"


class Encryption(models.TextChoices):
    TLS = "tls", "tls (STARTTLS, usually port 587)"
    SSL = "ssl", "ssl (implicit TLS, usually port 465)"


class OutgoingEmailSettings(models.Model):
    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="outgoing_email")
    use_server = models.CharField(
        max_length=10, choices=UseServer.choices, default=UseServer.GATEWAY
    )
    from_email = models.EmailField(blank=True)
    sender_name = models.CharField(max_length=100, blank=True)
    host = models.CharField(max_length=253, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    username = models.CharField(max_length=254, blank=True)
    # A Fernet token (routes.secrets); the plaintext is never stored.
    password_encrypted = models.TextField(blank=True)
    encryption = models.CharField(max_length=3, choices=Encryption.choices, default=Encryption.TLS)
    updated_at = models.DateTimeField(auto_now=True)
    # Incremented by every save: a worker that read older settings (an old password)
    # must not mark these failing, nor clear their failure.
    version = models.PositiveIntegerField(default=0)

    # The last test (or, later, delivery) result: what the page shows.
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_result_ok = models.BooleanField(null=True)
    last_result_code = models.CharField(max_length=40, blank=True)
    last_result_message = models.TextField(blank=True)

    class Meta:
        db_table = "settings_app_outgoingemailsettings"
        verbose_name = "outgoing email settings"
        verbose_name_plural = "outgoing email settings"

    def __str__(self) -> str:
        return f"Outgoing email of {self.tenant}"

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)


class OAuthConnection(models.Model):
    """A mailbox a tenant's admin connected with OAuth: the account it signed in as and
    its tokens, Fernet-encrypted like SMTP passwords (routes.secrets). The access
    token is kept too, so every worker reuses one until it expires instead of each
    refreshing its own."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="oauth_connections")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    account_email = models.EmailField()
    refresh_token_encrypted = models.TextField()
    access_token_encrypted = models.TextField(blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField()
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        db_table = "settings_app_oauthconnection"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "provider"], name="oauth_one_per_provider")
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} mailbox {self.account_email}"
