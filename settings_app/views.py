from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from routes import secrets
from routes.config import needs_reconnect, settings_for
from routes.hostguard import HostRefused
from routes.models import OAuthConnection, Provider, UseServer
from routes.oauth_providers import enabled_providers
from settings_app.forms import OutgoingEmailForm
from settings_app.models import AuditAction, SettingsAuditEntry
from settings_app.oauth_views import JUST_CONNECTED
from settings_app.services import TestLimitReached, save_and_test
from yaypay_mail.tenancy import admin_required


@sensitive_post_parameters("password")
@admin_required
def outgoing_email(request):
    config = settings_for(request.tenant)
    connections = {c.provider: c for c in OAuthConnection.objects.filter(tenant=request.tenant)}
    page_error = ""
    if request.method == "POST":
        form = OutgoingEmailForm(request.POST, stored=config, connected=connections)
        if form.is_valid():
            try:
                outcome = save_and_test(
                    tenant=request.tenant, actor=request.user, data=form.cleaned_data
                )
            except HostRefused as refusal:
                page_error = str(refusal)
                form.add_error(refusal.field, refusal.guidance or None)
            except TestLimitReached as refusal:
                page_error = str(refusal)
            else:
                if outcome.ok:
                    messages.success(request, outcome.message)
                else:
                    request.session["smtp_failure"] = _failure_for_display(outcome.failure)
                return redirect("outgoing_email")
    else:
        initial = _initial(config)
        just_connected = request.session.pop(JUST_CONNECTED, None)
        if just_connected in connections:
            initial["use_server"] = just_connected  # ready for Save and send test message
        form = OutgoingEmailForm(initial=initial, stored=config, connected=connections)

    providers = _providers(config, connections)
    return render(
        request,
        "settings_app/outgoing_email.html",
        {
            "form": form,
            "config": config,
            "page_error": page_error,
            "failure": request.session.pop("smtp_failure", None),
            "password_unreadable": config.has_password
            and not secrets.readable(config.password_encrypted),
            "egress_ips": settings.EGRESS_IPS,
            "gateway_from": settings.DEFAULT_FROM_EMAIL,
            "audit": _history(request.tenant),
            "providers": providers,
            "providers_by_name": {provider["name"]: provider for provider in providers},
            "oauth_refused": request.session.pop("oauth_refused", None),
        },
    )


def _providers(config, connections) -> list[dict]:
    """What the page shows for each OAuth provider the operator configured."""
    shown = []
    for provider in enabled_providers():
        connection = connections.get(provider.name)
        in_use = config.use_server == provider.name
        shown.append(
            {
                "name": provider.name,
                "label": provider.label,
                "connection": connection,
                "needs_reconnect": in_use and needs_reconnect(config, connection),
                "from_differs": bool(
                    connection
                    and config.from_email
                    and config.from_email.lower() != connection.account_email.lower()
                ),
            }
        )
    return shown


def _history(tenant) -> list[SettingsAuditEntry]:
    """The last changes and tests, each change named by its fields' labels on the page
    ("SMTP Server, Port"), not by their names in code."""
    labels = {name: field.label for name, field in OutgoingEmailForm.base_fields.items()}
    entries = list(SettingsAuditEntry.objects.filter(tenant=tenant).select_related("actor")[:10])
    for entry in entries:
        if entry.action in (AuditAction.CONNECTED, AuditAction.DISCONNECTED):
            # Recorded as "provider:account": "Google ar@acme.example".
            entry.changed_labels = [_mailbox_label(item) for item in entry.changed_fields]
        else:
            entry.changed_labels = [labels.get(name, name) for name in entry.changed_fields]
    return entries


def _mailbox_label(item: str) -> str:
    provider, _, account = item.partition(":")
    label = dict(Provider.choices).get(provider, provider)
    return f"{label} {account}".strip()


def _initial(config) -> dict:
    return {
        "use_server": config.use_server or UseServer.GATEWAY,
        "from_email": config.from_email,
        "sender_name": config.sender_name,
        "host": config.host,
        "port": config.port,
        "username": config.username,
        "encryption": config.encryption,
    }


def _failure_for_display(failure) -> dict:
    return {
        "message": failure.message,
        "hint": failure.hint,
        "server_said": failure.server_said(),
    }
