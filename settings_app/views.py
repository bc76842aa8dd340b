from __future__ import annotations

import re
from dataclasses import dataclass

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
from settings_app.services import TestLimitReached, gmail_from_note, save_and_test
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
            "history": _history(request.tenant, before=_history_before(request)),
            "providers": providers,
            "providers_by_name": {provider["name"]: provider for provider in providers},
            "oauth_refused": request.session.pop("oauth_refused", None),
            # The button's words while the test runs (static/js/outgoing_email.js).
            "testing_label": f"Testing… (up to {settings.SMTP_DEADLINE:g} s)",
        },
    )


def _providers(config, connections) -> list[dict]:
    """What the page shows for each OAuth provider the operator configured."""
    shown = []
    for provider in enabled_providers():
        connection = connections.get(provider.name)
        in_use = config.use_server == provider.name
        from_differs = bool(
            connection
            and config.from_email
            and config.from_email.lower() != connection.account_email.lower()
        )
        shown.append(
            {
                "name": provider.name,
                "label": provider.label,
                "connection": connection,
                "needs_reconnect": in_use and needs_reconnect(config, connection),
                "from_differs": from_differs,
                "gmail_note": gmail_from_note(config.from_email, connection.account_email)
                if from_differs and provider.name == Provider.GOOGLE
                else "",
            }
        )
    return shown


HISTORY_PAGE = 10
SHORT_RESULT = 60


@dataclass(frozen=True)
class HistoryPage:
    entries: list[SettingsAuditEntry]
    older_than: int | None  # the id for the "Older" link; None on the last page
    newest: bool  # the first page (no "Newest" link)


def _history_before(request) -> int | None:
    value = request.GET.get("history_before", "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def _history(tenant, *, before: int | None = None) -> HistoryPage:
    """One page of changes and tests, newest first, paged by id (a small per-tenant
    trail: a limited query from an id, never an OFFSET). Each change is named by its
    fields' labels on the page ("SMTP Server, Port"), not by their names in code; a
    failed test by a short reason, its full text one click away."""
    labels = {name: field.label for name, field in OutgoingEmailForm.base_fields.items()}
    rows = SettingsAuditEntry.objects.filter(tenant=tenant).select_related("actor")
    if before is not None:
        rows = rows.filter(id__lt=before)
    entries = list(rows.order_by("-id")[: HISTORY_PAGE + 1])
    more = len(entries) > HISTORY_PAGE
    entries = entries[:HISTORY_PAGE]
    for entry in entries:
        if entry.action in (AuditAction.CONNECTED, AuditAction.DISCONNECTED):
            # Recorded as "provider:account": "Google ar@acme.example".
            entry.changed_labels = [_mailbox_label(item) for item in entry.changed_fields]
        else:
            entry.changed_labels = [labels.get(name, name) for name in entry.changed_fields]
        entry.short_result = short_result(entry.result)
    return HistoryPage(
        entries=entries,
        older_than=entries[-1].pk if more else None,
        newest=before is None,
    )


def short_result(text: str) -> str:
    """A failed test's first sentence, cut at a word to fit a badge's line; the full
    text stays on the page behind it."""
    text = " ".join((text or "").split())
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    if len(first) <= SHORT_RESULT:
        return first.rstrip(".")
    cut = first[:SHORT_RESULT].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


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
