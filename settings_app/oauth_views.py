"""Connect, callback and disconnect of a mailbox connected with OAuth (admins only)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from routes.api_errors import not_connected
from routes.config import mark_failing, settings_for
from routes.models import OutgoingEmailSettings
from routes.oauth_providers import ProviderConfig
from routes.oauth_providers import provider as provider_config
from routes.oauth_tokens import connection_for, disconnect, save_grant
from settings_app.models import AuditAction, SettingsAuditEntry
from settings_app.oauth_flow import SESSION_KEY, AdminConsent, ConnectRefused, finish, start
from yaypay_mail.tenancy import admin_required

# The page preselects this provider after a connection, for "Save and send test message".
JUST_CONNECTED = "oauth_just_connected"


def _provider_or_404(name: str) -> ProviderConfig:
    config = provider_config(name)
    if config is None:  # unknown, or the operator did not configure it
        raise Http404("No such provider")
    return config


def redirect_uri(name: str) -> str:
    """The callback on the public address, never on the request's Host (the client's)."""
    base = settings.OAUTH_REDIRECT_BASE or settings.SITE_URL
    return base + reverse("oauth_callback", args=[name])


@require_GET
@admin_required
def connect(request, provider: str):
    config = _provider_or_404(provider)
    url, flow = start(
        config,
        redirect_uri=redirect_uri(provider),
        tenant_id=request.tenant.pk,
        user_id=request.user.pk,
        admin=request.GET.get("admin_consent") == "1" and provider == "microsoft",
    )
    request.session[SESSION_KEY] = flow  # one flow at a time: a new Connect replaces it
    return redirect(url)


@require_GET
@admin_required
def callback(request, provider: str):
    config = _provider_or_404(provider)
    flow = request.session.pop(SESSION_KEY, None)  # used once, whatever happens next
    try:
        result = finish(
            config,
            flow=flow,
            query=request.GET,
            tenant_id=request.tenant.pk,
            user_id=request.user.pk,
        )
    except ConnectRefused as refused:
        request.session["oauth_refused"] = str(refused)
        return redirect("outgoing_email")
    if isinstance(result, AdminConsent):
        messages.success(
            request,
            f"Your organisation's administrator approved YayPay. Now click Connect "
            f"{config.label} and sign in to the mailbox reminders are sent from.",
        )
        return redirect("outgoing_email")
    save_grant(tenant=request.tenant, provider_name=provider, grant=result, actor=request.user)
    SettingsAuditEntry.objects.create(
        tenant=request.tenant,
        actor=request.user,
        action=AuditAction.CONNECTED,
        changed_fields=[f"{provider}:{result.account_email}"],
    )
    request.session[JUST_CONNECTED] = provider
    messages.success(
        request,
        f"Connected {result.account_email} ({config.label}). Click Save and send test message "
        f"to start sending reminders through {config.label}.",
    )
    return redirect("outgoing_email")


@require_POST
@admin_required
def disconnect_view(request, provider: str):
    config = _provider_or_404(provider)
    connection = connection_for(request.tenant.pk, provider)
    if connection is None:
        messages.info(request, f"No {config.label} mailbox is connected.")
        return redirect("outgoing_email")
    account = connection.account_email
    note = disconnect(tenant=request.tenant, provider_name=provider)
    SettingsAuditEntry.objects.create(
        tenant=request.tenant,
        actor=request.user,
        action=AuditAction.DISCONNECTED,
        changed_fields=[f"{provider}:{account}"],
    )
    stored: OutgoingEmailSettings = settings_for(request.tenant)
    if stored.use_server == provider:
        # Never rerouted through the gateway: mail waits as Error with this reason.
        mark_failing(stored, not_connected(provider))
    messages.success(request, f"Disconnected {account}. {note}".strip())
    return redirect("outgoing_email")
