from django import template

from communications import reasons

register = template.Library()


@register.filter
def short_reason(email) -> str:
    """{{ email|short_reason }}: "Login refused", "Recipient refused", ..."""
    return reasons.short_reason(email.error_code, email.error_message)


@register.filter
def sent_badge(email) -> str:
    """{{ email|sent_badge }}: "Sent · accepted by your server", ... or "Sent"."""
    return reasons.sent_badge(email.route)


@register.filter
def route_label(email) -> str:
    """{{ email|route_label }}: "Your server (SMTP)", "YayPay gateway" or ""."""
    return reasons.route_label(email.route)


@register.simple_tag
def not_tracked() -> str:
    return reasons.NOT_TRACKED
