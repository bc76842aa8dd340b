"""One-line reasons for list rows: "Error · Login refused". The full text and the server's
reply stay on the email's page; a list shows only what a collector scans for."""

from __future__ import annotations

SHORT_REASONS = {
    "auth_failed": "Login refused",
    "auth_required": "Server requires a login",
    "auth_unavailable": "Server offers no login",
    "certificate_invalid": "Certificate does not match host",
    "connect_failed": "Cannot reach the server",
    "dropped": "Connection dropped",
    "gateway_unavailable": "Gateway unavailable",
    "greeting_refused": "Server refused the connection",
    "host_refused": "Server not allowed",
    "interrupted": "Delivery interrupted",
    "invalid_message": "Cannot be prepared",
    "message_refused": "Message refused",
    "not_smtp": "Not a mail server",
    "mailbox_unavailable": "Mailbox cannot send",
    "provider_config": "Waiting for the operator",
    "provider_unavailable": "Provider unavailable",
    "rate_limited": "Paused by the provider's limit",
    "recipient_refused": "Recipient refused",
    "secret_unreadable": "Waiting for the operator",
    "send_as_denied": "No right to send as From",
    "server_stalled": "Paused: server did not answer",
    "sender_refused": "Sender refused",
    "starttls_unavailable": "No secure connection offered",
    "timeout": "Server stopped answering",
    "tls_failed": "Secure connection failed",
    "worker_died": "Sending stopped repeatedly",
}


def short_reason(code: str, message: str = "") -> str:
    """The list's one-line reason for an error code; the message's first sentence for a
    code this table does not know (never more than one line)."""
    if code in SHORT_REASONS:
        return SHORT_REASONS[code]
    first_line = (message or "").strip().splitlines()[0] if (message or "").strip() else ""
    return first_line[:80] or "Not sent"


# OutboundEmail.route (settings_app.models.UseServer); "" on emails sent before it was kept.
ROUTE_LABELS = {
    "smtp": "Your server (SMTP)",
    "gateway": "YayPay gateway",
    "microsoft": "Your Microsoft 365 mailbox",
    "google": "Your Google mailbox",
}
SENT_BADGES = {
    "smtp": "Sent · accepted by your server",
    "gateway": "Sent · accepted by the gateway",
    "microsoft": "Sent · accepted by Microsoft 365",
    "google": "Sent · accepted by Google",
}
NOT_TRACKED = "Delivery to the recipient's inbox is not tracked."

# At the login stage a server may echo the password back in its reply, so a login
# failure's attempt shows its code and this sentence, never the server's text.
AUTH_STAGE = "auth"
AUTH_EXPLANATION = (
    "The mail server refused the login. Check the Username and Password in "
    "Settings | Email | Outgoing emails."
)


def route_label(route: str) -> str:
    return ROUTE_LABELS.get(route, "")


def sent_badge(route: str) -> str:
    """The badge of a Sent email: who accepted it, when the route is known."""
    return SENT_BADGES.get(route, "Sent")
