"""Template tags and filters that write amounts, numbers and dates the tenant's way,
through yaypay_mail.formatting (the only place that formats them).

The tags read the locale from the context's `tenant_locale`: a view that has already
read the reminder settings passes the string; otherwise the context processor gives a
callable that reads it once per request, only on pages that format something.

    {% load locale_format %}
    {% amount row.total row.currency %}   -> $1,234.56 / 1.234,56 €
    {% number count %}                     -> 12,345 / 12.345
    {% day invoice.due_on %}               -> Nov 30, 2026 / 30.11.2026
    {% moment email.created_at %}          -> Nov 30, 2026, 2:05 PM / 30.11.2026, 14:05
    {{ count|number_in:tenant_locale }}    -> the same, as a filter
"""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone

from yaypay_mail import formatting

register = template.Library()


def locale_of(context) -> str:
    value = context.get("tenant_locale")
    if callable(value):
        value = value()
    return value or formatting.DEFAULT_LOCALE


@register.simple_tag(takes_context=True)
def amount(context, value, currency: str) -> str:
    return formatting.format_amount(value, currency, locale_of(context))


@register.simple_tag(takes_context=True)
def number(context, value) -> str:
    return formatting.format_number(value, locale_of(context))


def _date(value):
    """A moment's date in the current time zone (a {% timezone %} block sets it)."""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


@register.simple_tag(takes_context=True)
def day(context, value) -> str:
    return formatting.format_day(_date(value), locale_of(context))


def _local(value):
    """A moment in the current time zone (a {% timezone %} block sets it)."""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


@register.simple_tag(takes_context=True)
def moment(context, value) -> str:
    return formatting.format_moment(_local(value), locale_of(context))


# Filters with the locale as their argument, for expressions: {{ n|number_in:tenant_locale }}.


@register.filter
def number_in(value, locale: str | None = None) -> str:
    return formatting.format_number(value, locale or formatting.DEFAULT_LOCALE)


@register.filter
def moment_in(value, locale: str | None = None) -> str:
    return formatting.format_moment(_local(value), locale or formatting.DEFAULT_LOCALE)
