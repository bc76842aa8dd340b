"""A tenant's route settings as the engine and the pages read them: which route, who the
mail is from, whether logins are blocked, and the last result deliveries leave."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from routes.api_errors import not_connected
from routes.failures import SendFailure
from routes.models import OutgoingEmailSettings, UseServer
from routes.oauth_tokens import connection_for
from yaypay_mail.models import Tenant

# Mailboxes connected with OAuth (Microsoft 365, Google): no host, no password.
OWN_MAILBOX_ROUTES = (UseServer.MICROSOFT, UseServer.GOOGLE)


@dataclass(frozen=True)
class Identity:
    from_email: str
    from_name: str
    reply_to: str = ""

    def header(self) -> str:
        """The From as a person reads it: "Acme AR <ar@acme.example>"."""
        if self.from_name:
            return f"{self.from_name} <{self.from_email}>"
        return self.from_email or ""


def settings_for(tenant: Tenant) -> OutgoingEmailSettings:
    # Every tenant has its row from its creation on (routes.apps, migration 0002); the
    # fallback is for tenants made without signals (bulk loads).
    obj, _ = OutgoingEmailSettings.objects.get_or_create(tenant=tenant)
    return obj


def identity_for(config: OutgoingEmailSettings) -> Identity:
    """Who the mail is from: the tenant's own address, or the gateway's no-reply address
    as "<tenant> via YayPay" with Reply-To the tenant's From, when there is one."""
    if config.use_server == UseServer.SMTP:
        return Identity(from_email=config.from_email, from_name=config.sender_name)
    if config.use_server in OWN_MAILBOX_ROUTES:
        connection = connection_for(config.tenant_id, config.use_server)
        account = connection.account_email if connection else ""
        reply_to = ""
        if config.use_server == UseServer.GOOGLE and gmail_may_rewrite(config.from_email, account):
            # Gmail puts the account in From unless the From is one of its verified
            # "Send mail as" aliases; Reply-To keeps replies going to the saved From.
            reply_to = config.from_email
        return Identity(
            from_email=config.from_email or account,
            from_name=config.sender_name,
            reply_to=reply_to,
        )
    return Identity(
        from_email=settings.DEFAULT_FROM_EMAIL,
        from_name=f"{config.tenant.name} {settings.GATEWAY_DISPLAY_SUFFIX}",
        reply_to=config.from_email,
    )


def gmail_may_rewrite(from_email: str, account: str) -> bool:
    """Gmail sends from the connected account unless the From is a verified "Send mail
    as" alias of it, which only Gmail knows: a From other than the account may be
    rewritten to the account's address."""
    return bool(from_email and account and from_email.lower() != account.lower())


def sending_blocked_reason(config: OutgoingEmailSettings) -> str:
    """Why no worker may log in to the tenant's server now ("" when it may): after an
    authentication refusal, until the settings are saved (and tested) again; or while
    the chosen Microsoft 365 or Google mailbox is not connected."""
    if config.use_server != UseServer.GATEWAY and config.last_result_code == "auth_failed":
        return config.last_result_message or "Authentication failed."
    if config.use_server in OWN_MAILBOX_ROUTES and not connection_for(
        config.tenant_id, config.use_server
    ):
        return not_connected(config.use_server).full_text()
    return ""


def needs_reconnect(config: OutgoingEmailSettings, connection=None) -> bool:
    """The chosen Microsoft 365 or Google mailbox's access ended (or it was disconnected),
    and it has not been connected again since: the page and the Dashboard offer Reconnect.
    Once it has, Save and send test message is what resumes sending. `connection`: the
    chosen provider's connection when the caller has already read it."""
    if config.use_server not in OWN_MAILBOX_ROUTES or config.last_result_code != "auth_failed":
        return False
    if connection is None:
        connection = connection_for(config.tenant_id, config.use_server)
    return not (
        connection and config.last_tested_at and connection.connected_at > config.last_tested_at
    )


def mark_failing(config: OutgoingEmailSettings, failure: SendFailure) -> None:
    """A delivery's failure of the tenant's own server becomes the settings' last result
    (the page and the Dashboard show it)."""
    # Guarded by version: settings saved since `config` was read (a new password) are
    # not blamed for what a worker met with the old ones.
    OutgoingEmailSettings.objects.filter(pk=config.pk, version=config.version).update(
        last_tested_at=timezone.now(),
        last_result_ok=False,
        last_result_code=failure.code,
        last_result_message=failure.full_text(),
    )


def mark_working(config: OutgoingEmailSettings) -> None:
    """Mail went out again through these very settings: a failure shown from before ends."""
    if config.last_result_ok is not False or config.use_server == UseServer.GATEWAY:
        return
    OutgoingEmailSettings.objects.filter(
        pk=config.pk, version=config.version, last_result_ok=False
    ).update(
        last_tested_at=timezone.now(),
        last_result_ok=True,
        last_result_code="",
        last_result_message="Emails are being sent through these settings again.",
    )
