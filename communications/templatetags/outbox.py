from django import template

from communications.reasons import short_reason as _short_reason

register = template.Library()


@register.filter
def short_reason(email) -> str:
    """{{ email|short_reason }}: "Login refused", "Recipient refused", ..."""
    return _short_reason(email.error_code, email.error_message)
