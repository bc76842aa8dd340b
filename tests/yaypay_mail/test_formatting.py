"""yaypay_mail/formatting.py: amounts whose symbol is a currency code keep a space from
the digits, and timestamps are written the tenant's way."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template

from yaypay_mail.formatting import format_amount, format_moment

NBSP = "\xa0"


@pytest.mark.parametrize(
    "currency,locale,expected",
    [
        ("SEK", "en_US", f"SEK{NBSP}12,000.00"),
        ("CHF", "en_US", f"CHF{NBSP}12,000.00"),
        ("NOK", "en_GB", f"NOK{NBSP}12,000.00"),
        ("SEK", "de_DE", f"12.000,00{NBSP}SEK"),  # Babel already spaces it
        ("CHF", "de_CH", f"CHF{NBSP}12’000.00"),
        # A symbol that is not a code stays against the digits, as the locale writes it.
        ("USD", "en_US", "$12,000.00"),
        ("USD", "en_GB", "US$12,000.00"),
        ("EUR", "de_DE", f"12.000,00{NBSP}€"),
    ],
)
def test_a_currency_code_is_spaced_from_the_digits(currency, locale, expected):
    assert format_amount(Decimal("12000"), currency, locale).replace("'", "’") == expected


def test_a_negative_amount_with_a_code_keeps_the_sign_first_and_the_space():
    assert format_amount(Decimal("-120"), "SEK", "en_US") == f"-SEK{NBSP}120.00"


@pytest.mark.parametrize(
    "locale,expected",
    [
        ("en_US", "Nov 30, 2026, 2:05\u202fPM"),
        ("en_GB", "30 Nov 2026, 14:05"),
        ("de_DE", "30.11.2026, 14:05"),
        ("fr_FR", "30 nov. 2026, 14:05"),
    ],
)
def test_a_timestamp_is_written_the_locales_way(locale, expected):
    assert format_moment(datetime.datetime(2026, 11, 30, 14, 5), locale) == expected
    assert format_moment(None, locale) == "—"


def test_the_moment_tag_writes_in_the_pages_time_zone_and_locale():
    moment = datetime.datetime(2026, 11, 30, 22, 0, tzinfo=datetime.UTC)
    source = "{% load tz locale_format %}{% timezone zone %}{% moment at %}{% endtimezone %}"
    page = Template(source).render(
        Context({"at": moment, "zone": "Asia/Kolkata", "tenant_locale": "de_DE"})
    )
    assert page == "01.12.2026, 03:30"
