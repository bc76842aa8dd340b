"""What an email's page shows: who it is from, its route, and each try to deliver it."""

from __future__ import annotations

from dataclasses import dataclass

from settings_app.services import identity_for, settings_for
from yaypay_mail.models import Tenant

from .models import DeliveryAttempt, OutboundEmail, Status
from .reasons import AUTH_EXPLANATION, AUTH_STAGE, route_label


@dataclass(frozen=True)
class AttemptRow:
    attempt: DeliveryAttempt
    # The server's reply, or for a login failure the product's sentence instead.
    explanation: str
    reply_hidden: bool


def attempt_rows(email: OutboundEmail) -> list[AttemptRow]:
    """Every try, oldest first: a Sent email's earlier failures keep their reasons."""
    rows = []
    for attempt in email.attempts.all():
        if attempt.stage == AUTH_STAGE:
            rows.append(AttemptRow(attempt, AUTH_EXPLANATION, reply_hidden=True))
        else:
            rows.append(AttemptRow(attempt, attempt.reply, reply_hidden=False))
    return rows


def email_detail_context(email: OutboundEmail, *, tenant: Tenant, time_zone: str) -> dict:
    config = settings_for(tenant)
    config.tenant = tenant  # identity_for reads its name: already loaded, not a query
    identity = identity_for(config)
    return {
        "email": email,
        "attempts": attempt_rows(email),
        "time_zone": time_zone,
        "identity": identity,
        # The outbox keeps no copy of the From a message went out with: the page shows
        # today's settings and says so.
        "identity_is_current": email.status != Status.SENT,
        "route": route_label(email.route),
        # A login failure's reply may echo the password: the code and the reason only.
        "show_server_reply": bool(email.smtp_reply) and email.error_code != "auth_failed",
    }
