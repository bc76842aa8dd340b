"""Writes for Settings | Email | Outgoing emails: save, then test."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from routes import secrets
from routes.choice import route_for
from routes.config import (
    OWN_MAILBOX_ROUTES,
    identity_for,
    settings_for,
)
from routes.failures import SendFailure
from routes.hostguard import CheckedHost, check_host
from routes.messages import build_message
from routes.models import OutgoingEmailSettings, UseServer
from routes.oauth_tokens import connection_for
from settings_app.models import AuditAction, SettingsAuditEntry
from yaypay_mail.models import Tenant

logger = logging.getLogger(__name__)

PASSWORD_BOUND = ("host", "port", "username")
AUDITED_FIELDS = (
    "use_server",
    "from_email",
    "sender_name",
    "host",
    "port",
    "username",
    "encryption",
)


@dataclass(frozen=True)
class TestOutcome:
    """What the page shows after "Save and send test message"."""

    saved: bool
    ok: bool = False
    message: str = ""  # the banner's sentence
    failure: SendFailure | None = None


def gmail_from_note(from_email: str, account: str) -> str:
    """What Gmail will do with a From other than the connected account, in one place for
    the settings page and the test message's banner."""
    return (
        f'Gmail sends from {from_email} only if it is a verified "Send mail as" address '
        f"of {account}; otherwise Gmail rewrites the From to {account}. "
        f"Replies go to {from_email} either way (Reply-To)."
    )


def next_test_allowed_at(tenant: Tenant, *, now: datetime) -> datetime | None:
    """None while the tenant is under SMTP_TEST_LIMIT tests in the last hour; otherwise
    the time the oldest of those leaves the window."""
    window_start = now - timedelta(hours=1)
    recent = list(
        SettingsAuditEntry.objects.filter(
            tenant=tenant, action=AuditAction.TESTED, at__gt=window_start
        )
        .order_by("-at")
        .values_list("at", flat=True)[: settings.SMTP_TEST_LIMIT]
    )
    if len(recent) < settings.SMTP_TEST_LIMIT:
        return None
    return recent[-1] + timedelta(hours=1)


class TestLimitReached(Exception):
    def __init__(self, retry_at: datetime):
        self.retry_at = retry_at
        local = timezone.localtime(retry_at)
        super().__init__(
            f"You have sent {settings.SMTP_TEST_LIMIT} test messages in the last hour. "
            f"You can test again at {local:%H:%M} {local:%Z}. Nothing was saved."
        )


@sensitive_variables("data", "password")
def save_and_test(*, tenant: Tenant, actor, data: dict) -> TestOutcome:
    """Save, then test: guard, limit, save, then send the test message at once under
    one deadline. Raises HostRefused or TestLimitReached with nothing saved."""
    deadline = time.monotonic() + settings.SMTP_DEADLINE
    timeout = min(settings.SMTP_TIMEOUT, settings.SMTP_DEADLINE)
    checked = None
    if data["use_server"] == UseServer.SMTP:
        checked = check_host(data["host"], data["port"], timeout=timeout)  # refused: nothing saved

    with transaction.atomic():
        # The row lock serialises two admins saving at once, so the test limit holds.
        config = (
            OutgoingEmailSettings.objects.select_for_update()
            .filter(pk=settings_for(tenant).pk)
            .get()
        )
        retry_at = next_test_allowed_at(tenant, now=timezone.now())
        if retry_at is not None:
            raise TestLimitReached(retry_at)
        changed = _apply(config, data)
        if changed:
            SettingsAuditEntry.objects.create(
                tenant=tenant, actor=actor, action=AuditAction.CHANGED, changed_fields=changed
            )
        test_entry = SettingsAuditEntry.objects.create(
            tenant=tenant, actor=actor, action=AuditAction.TESTED
        )

    outcome = _send_test(
        config, to=actor.email, checked=checked, deadline=deadline, timeout=timeout
    )
    _record(config, test_entry, outcome)
    return outcome


@sensitive_variables("data", "password")
def _apply(config: OutgoingEmailSettings, data: dict) -> list[str]:
    """Copy the form's values onto the settings and save; the changed field names."""
    values = {name: data.get(name) for name in AUDITED_FIELDS}
    values["encryption"] = values["encryption"] or config.encryption or "tls"
    for name in ("from_email", "sender_name", "host", "username"):
        values[name] = values[name] or ""
    changed = [name for name in AUDITED_FIELDS if getattr(config, name) != values[name]]
    password = data.get("password") or ""
    # A stored password is only ever sent to the server and user it was typed for.
    drop_password = not values["username"] or any(name in changed for name in PASSWORD_BOUND)
    for name in AUDITED_FIELDS:
        setattr(config, name, values[name])
    config.version += 1  # under the row lock taken by save_and_test
    if password:
        config.password_encrypted = secrets.encrypt(password)
        changed.append("password")
    elif drop_password and config.password_encrypted:
        config.password_encrypted = ""
        changed.append("password")
    config.save()
    return changed


def _send_test(
    config: OutgoingEmailSettings,
    *,
    to: str,
    checked: CheckedHost | None,
    deadline: float,
    timeout: float,
) -> TestOutcome:
    identity = identity_for(config)
    # A From the route may rewrite (Gmail) is not promised: what Gmail does is said instead.
    gmail_note = (
        gmail_from_note(identity.from_email, _account_of(config))
        if identity.reply_to and config.use_server == UseServer.GOOGLE
        else ""
    )
    message = build_message(
        from_email=identity.from_email,
        from_name=identity.from_name,
        reply_to=identity.reply_to,
        to=[to],
        subject="Test message from YayPay",
        text=(
            "This is a test message from YayPay.\n\n"
            "Your outgoing email settings work: payment reminders will be sent "
            + (
                f"through Google.\n{gmail_note}\n"
                if gmail_note
                else f"from {identity.from_email}" + _through(config.use_server)
            )
            + (
                f"Your customers' replies go to {identity.reply_to or identity.from_email}.\n"
                if config.from_email or config.use_server in OWN_MAILBOX_ROUTES
                else "Replies cannot reach you: save a From address to receive them.\n"
            )
        ),
    )
    try:
        left = max(0.1, min(timeout, deadline - time.monotonic()))
        with route_for(config, timeout=left, checked=checked, deadline=deadline) as route:
            route.send(message)
    except SendFailure as failure:
        logger.info("Test message of tenant %s failed: %s", config.tenant_id, failure.code)
        return TestOutcome(saved=True, failure=failure)
    sent = f"Test message sent to {to}. Your settings are saved."
    return TestOutcome(saved=True, ok=True, message=f"{sent} {gmail_note}".strip())


def _account_of(config: OutgoingEmailSettings) -> str:
    connection = connection_for(config.tenant_id, config.use_server)
    return connection.account_email if connection else ""


def _through(use_server: str) -> str:
    if use_server == UseServer.SMTP:
        return " through your own mail server.\n"
    if use_server in OWN_MAILBOX_ROUTES:
        return f" through {UseServer(use_server).label}.\n"
    return " through the YayPay gateway.\n"


def _record(config: OutgoingEmailSettings, entry: SettingsAuditEntry, outcome: TestOutcome) -> None:
    now = timezone.now()
    text = outcome.message if outcome.ok else outcome.failure.full_text()
    code = "" if outcome.ok else outcome.failure.code
    OutgoingEmailSettings.objects.filter(pk=config.pk).update(
        last_tested_at=now,
        last_result_ok=outcome.ok,
        last_result_code=code,
        last_result_message=text,
    )
    SettingsAuditEntry.objects.filter(pk=entry.pk).update(result_ok=outcome.ok, result=text)
