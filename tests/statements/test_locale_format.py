"""yaypay_mail/templatetags/locale_format.py: the tags write through yaypay_mail.formatting
in the locale the context carries."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template


def render(source: str, **context) -> str:
    return Template("{% load locale_format %}" + source).render(Context(context))


@pytest.mark.parametrize(
    "locale,expected",
    [("en_US", "$1,234.56"), ("de_DE", "1.234,56\xa0€"), ("en_GB", "€1,234.56")],
)
def test_an_amount_is_written_the_locales_way(locale, expected):
    currency = "USD" if locale == "en_US" else "EUR"
    page = render(
        "{% amount value currency %}",
        value=Decimal("1234.56"),
        currency=currency,
        tenant_locale=locale,
    )
    assert page == expected


def test_numbers_and_days_follow_the_locale():
    context = {"n": 12345, "when": datetime.date(2026, 11, 30)}
    assert render("{% number n %} · {% day when %}", tenant_locale="en_US", **context) == (
        "12,345 · Nov 30, 2026"
    )
    assert render("{% number n %} · {% day when %}", tenant_locale="de_DE", **context) == (
        "12.345 · 30.11.2026"
    )


def test_the_locale_may_be_the_context_processors_callable():
    page = render("{% number a %} {% number b %}", a=1000, b=2000, tenant_locale=lambda: "de_DE")
    assert page == "1.000 2.000"


def test_without_a_locale_it_writes_en_us_and_a_missing_value_is_a_dash():
    assert render("{% amount value 'USD' %}", value=Decimal("5")) == "$5.00"
    assert render("{% amount value 'USD' %} {% day none %}", value=None, none=None) == "— —"


def test_a_moment_is_dated_in_the_pages_time_zone():
    # 23:30 UTC on Nov 30 is already Dec 1 in Auckland.
    moment = datetime.datetime(2026, 11, 30, 23, 30, tzinfo=datetime.UTC)
    source = "{% load tz %}{% timezone zone %}{% day moment %}{% endtimezone %}"
    assert render(source, moment=moment, zone="UTC", tenant_locale="en_US") == "Nov 30, 2026"
    assert render(source, moment=moment, zone="Pacific/Auckland", tenant_locale="en_US") == (
        "Dec 1, 2026"
    )


def test_the_filters_take_the_locale_as_their_argument():
    assert render("{{ n|number_in:'de_DE' }}", n=1234567) == "1.234.567"


def test_an_amount_is_escaped_like_any_template_value():
    # Babel output never holds markup, but a currency code comes from imported data.
    page = render("{% amount value code %}", value=Decimal("1"), code="<b>", tenant_locale="en_US")
    assert "<b>" not in page
