"""Numbers, amounts and dates written the tenant's way (its `locale`, a Babel locale
name such as en_US, en_GB or de_DE). Pages and emails format through these functions
only, so one setting changes them all."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.numbers import format_currency, format_decimal, get_currency_symbol

DEFAULT_LOCALE = "en_US"
# The locales offered on the reminder settings page, with the currency of the example.
OFFERED_LOCALES = [
    ("en_US", "USD"),
    ("en_GB", "GBP"),
    ("en_CA", "CAD"),
    ("en_AU", "AUD"),
    ("en_IE", "EUR"),
    ("de_DE", "EUR"),
    ("de_CH", "CHF"),
    ("fr_FR", "EUR"),
    ("es_ES", "EUR"),
    ("it_IT", "EUR"),
    ("nl_NL", "EUR"),
]
EXAMPLE_DAY = datetime.date(2026, 11, 30)


@lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    try:
        return Locale.parse(name or DEFAULT_LOCALE)
    except (ValueError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)


def format_amount(amount: Decimal | int | None, currency: str, locale: str) -> str:
    """`1234.5, "EUR", "de_DE"` -> `1.234,50 €`. None -> an em dash."""
    if amount is None:
        return "—"
    written = format_currency(amount, currency, locale=_locale(locale))
    return _space_after_code(written, currency, locale)


def _space_after_code(written: str, currency: str, locale: str) -> str:
    """Babel writes a symbol that is a code (SEK, CHF) against the digits in some locales
    ("SEK12,000.00"); a code needs a (no-break) space, as "US$" or "€" does not."""
    symbol = get_currency_symbol(currency, locale=_locale(locale))
    if not symbol:
        return written
    quoted = re.escape(symbol)
    if symbol[-1].isalpha():
        written = re.sub(rf"{quoted}(?=[-\d])", f"{symbol}\xa0", written)
    if symbol[0].isalpha():
        written = re.sub(rf"(?<=\d){quoted}", f"\xa0{symbol}", written)
    return written


def format_number(number: Decimal | int | None, locale: str) -> str:
    """Thousands separators the tenant's way: `12345` -> `12,345` (en) or `12.345` (de)."""
    if number is None:
        return "—"
    return format_decimal(number, locale=_locale(locale))


def format_day(day: datetime.date | None, locale: str) -> str:
    """A date in the locale's short form without ambiguity of length: `Nov 30, 2026`."""
    if day is None:
        return "—"
    return babel_format_date(day, format="medium", locale=_locale(locale))


def format_moment(moment: datetime.datetime | None, locale: str) -> str:
    """A timestamp the locale's way, in the time zone it carries (callers convert):
    `Nov 30, 2026, 2:05 PM` (en_US), `30.11.2026, 14:05` (de_DE)."""
    if moment is None:
        return "—"
    found = _locale(locale)
    day = babel_format_date(moment.date(), format="medium", locale=found)
    clock = babel_format_time(moment.time(), format="short", locale=found)
    pattern = str(found.datetime_formats.get("medium", "{1}, {0}"))
    return pattern.replace("{1}", day).replace("{0}", clock)


def date_order(locale: str) -> str:
    """How the locale writes short dates: `mdy`, `dmy` or `iso` (the CSV import's
    `date_format` choices), read from Babel's short date pattern."""
    pattern = _locale(locale).date_formats["short"].pattern.lower()
    positions = {part: pattern.find(part) for part in "dmy"}
    if positions["y"] == 0:
        return "iso"
    return "mdy" if positions["m"] < positions["d"] else "dmy"


def decimal_mark(locale: str) -> str:
    """`point` or `comma` (the CSV import's `decimal` choices)."""
    return "comma" if _locale(locale).number_symbols["latn"]["decimal"] == "," else "point"


def locale_choices() -> list[tuple[str, str]]:
    """(name, label) pairs whose label shows the locale's own writing of an amount, a
    number and a date: `English (United States): $1,234.56 · 12,345 · Nov 30, 2026`."""
    return [
        (
            name,
            f"{_locale(name).get_display_name('en')}: "
            f"{format_amount(Decimal('1234.56'), currency, name)} · "
            f"{format_number(12345, name)} · {format_day(EXAMPLE_DAY, name)}",
        )
        for name, currency in OFFERED_LOCALES
    ]
