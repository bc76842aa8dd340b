"""What an email's page shows: who it went out as, its route, and each try to deliver it."""

from __future__ import annotations

from dataclasses import dataclass

from communications.reasons import AUTH_EXPLANATION, AUTH_STAGE, route_label
from outbox.models import DeliveryAttempt, OutboundEmail, Status
from routes.config import identity_for, settings_for
from yaypay_mail.models import Tenant

SERVER_SAID = " Server said: "


@dataclass(frozen=True)
class AttemptRow:
    attempt: DeliveryAttempt
    # The server's reply, or for a login failure the product's sentence instead.
    explanation: str
    reply_hidden: bool
    route: str


@dataclass(frozen=True)
class SentAsShown:
    """The headers card: what the last try went out as, or, before any try that kept
    them, what today's settings would send."""

    from_header: str
    reply_to: str
    route: str
    # "sent_as": recorded with a try; "current": today's settings, used when it is sent;
    # "unknown": tried before the product kept them, so today's settings are shown.
    source: str


def attempt_rows(attempts: list[DeliveryAttempt]) -> list[AttemptRow]:
    """Every try, oldest first: a Sent email's earlier failures keep their reasons."""
    rows = []
    for attempt in attempts:
        route = route_label(attempt.route)
        if attempt.stage == AUTH_STAGE:
            rows.append(AttemptRow(attempt, AUTH_EXPLANATION, reply_hidden=True, route=route))
        else:
            rows.append(AttemptRow(attempt, attempt.reply, reply_hidden=False, route=route))
    return rows


def _sent_as(email: OutboundEmail, attempts: list[DeliveryAttempt], tenant: Tenant) -> SentAsShown:
    recorded = [attempt for attempt in attempts if attempt.from_header]
    if recorded:
        last = recorded[-1]
        return SentAsShown(last.from_header, last.reply_to, route_label(last.route), "sent_as")
    config = settings_for(tenant)
    config.tenant = tenant  # identity_for reads its name: already loaded, not a query
    identity = identity_for(config)
    tried = bool(attempts) or email.status == Status.SENT
    source = "unknown" if tried else "current"
    route = route_label(email.route) if tried else ""
    return SentAsShown(identity.header(), identity.reply_to or "", route, source)


def email_detail_context(email: OutboundEmail, *, tenant: Tenant, time_zone: str) -> dict:
    attempts = list(email.attempts.all())
    # The reason is said once: the sentence and its advice here, the server's reply in
    # the attempts table (or here, when no try carries it).
    reply_in_table = any(
        attempt.reply == email.smtp_reply and attempt.stage != AUTH_STAGE for attempt in attempts
    )
    reason = email.error_message
    if email.smtp_reply and reply_in_table:
        reason = reason.split(SERVER_SAID, 1)[0]
    return {
        "email": email,
        "attempts": attempt_rows(attempts),
        "time_zone": time_zone,
        "sent_as": _sent_as(email, attempts, tenant),
        "reason": reason,
        # A login failure's reply may echo the password: the code and the reason only.
        "show_server_reply": bool(email.smtp_reply)
        and email.error_code != "auth_failed"
        and not reply_in_table,
    }
