"""Reading one raw value of a customer or invoice record (a CSV cell or a JSON value).
Each reader returns the typed value or raises FieldError with a sentence that names
the value, as an admin fixing a spreadsheet needs it: "31/02/2026 is not a date"."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from functools import cache

import pycountry
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from .validators import reject_invisible_controls

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_CURRENCY_MARKS = re.compile(r"[\s$€£¥]|^[A-Z]{3}\s*|\s*[A-Z]{3}$")
INTEGER_DIGITS = 12  # the amount columns hold 12 digits before the point, 2 after
TOO_LARGE = "is too large: at most 12 digits before the decimal point (999,999,999,999.99)"
FIRST_YEAR, LAST_YEAR = 1900, 2200
_DATE_PATTERNS = {
    "iso": (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), ("y", "m", "d"), "YYYY-MM-DD"),
    "mdy": (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), ("m", "d", "y"), "MM/DD/YYYY"),
    "dmy": (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), ("d", "m", "y"), "DD/MM/YYYY"),
}
_TRUE = {"yes", "true", "1", "y"}
_FALSE = {"no", "false", "0", "n"}


class FieldError(ValueError):
    pass


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def shown(value: object) -> str:
    text = str(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return text if text.isprintable() else repr(text)


def text(value: object, *, max_length: int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FieldError(f"{shown(value)} is not text")
    result = str(value).strip()
    if _CONTROL.search(result):
        raise FieldError("line breaks and control characters are not allowed")
    try:
        reject_invisible_controls(result)
    except ValidationError as error:
        raise FieldError(error.messages[0].rstrip(".")) from None
    if len(result) > max_length:
        raise FieldError(f"is longer than {max_length} characters")
    return result


def email(value: object) -> str:
    address = text(value, max_length=254).lower()
    try:
        validate_email(address)
    except ValidationError:
        raise FieldError(f"{shown(address)} is not a valid email address") from None
    return address


def email_list(value: object) -> list[str]:
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = [part for part in re.split(r"[;,]", value) if part.strip()]
    else:
        raise FieldError(f"{shown(value)} is not a list of email addresses")
    return [email(item) for item in items]


def boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise FieldError(f"{shown(value)} is not yes/no, true/false or 1/0")


def amount(value: object, *, decimal: str = "point") -> Decimal:
    """`1,234.56`, `$1,234.56`, `1234.5`, `(120.00)` (negative), or with decimal="comma"
    `1.234,56`; JSON numbers as they are."""
    if isinstance(value, bool):
        raise FieldError(f"{shown(value)} is not an amount")
    if isinstance(value, int | float):
        raw = repr(value)
        decimal = "point"  # a JSON number is written one way only
    elif isinstance(value, str):
        raw = value.strip()
    else:
        raise FieldError(f"{shown(value)} is not an amount")
    number = _CURRENCY_MARKS.sub("", raw)
    negative = number.startswith("(") and number.endswith(")")
    if negative:
        number = number[1:-1]
    mark, group = (",", ".") if decimal == "comma" else (".", ",")
    # Group separators only between groups of three digits: in a file read with the
    # decimal comma, "340.50" is a mistake to report, not 34050.
    if not _amount_pattern(mark, group).fullmatch(number):
        if not re.fullmatch(r"-?[\d.,]+", number):
            raise FieldError(f"{shown(raw)} is not an amount")
        example = "comma: 1.234,56" if decimal == "comma" else "point: 1,234.56"
        raise FieldError(f"{shown(raw)} is not an amount (decimal {example})")
    number = number.replace(group, "").replace(mark, ".")
    # Checked before Decimal arithmetic: 27 digits and more overflow its 28-digit context.
    if len(number.lstrip("-").split(".")[0].lstrip("0")) > INTEGER_DIGITS:
        raise FieldError(f"{shown(raw)} {TOO_LARGE}")
    try:
        result = Decimal(number)
    except InvalidOperation:
        raise FieldError(f"{shown(raw)} is not an amount") from None
    if result != result.quantize(Decimal("0.01")):
        raise FieldError(f"{shown(raw)} has more than 2 decimals")
    return -result if negative else result


@cache
def _amount_pattern(mark: str, group: str) -> re.Pattern:
    mark, group = re.escape(mark), re.escape(group)
    return re.compile(rf"-?(\d{{1,3}}({group}\d{{3}})+|\d+)({mark}\d+)?")


def date(value: object, *, date_format: str = "iso") -> datetime.date:
    if not isinstance(value, str):
        raise FieldError(f"{shown(value)} is not a date")
    raw = value.strip()
    pattern, order, spelled = _DATE_PATTERNS[date_format]
    match = pattern.match(raw)
    if not match and date_format != "iso":
        # YYYY-MM-DD cannot be misread whatever order the file's other dates use.
        pattern, order, _ = _DATE_PATTERNS["iso"]
        match = pattern.match(raw)
    if not match:
        raise FieldError(f"{shown(raw)} is not a date ({spelled})")
    parts = dict(zip(order, (int(group) for group in match.groups()), strict=True))
    try:
        result = datetime.date(parts["y"], parts["m"], parts["d"])
    except ValueError:
        raise FieldError(f"{shown(raw)} is not a date") from None
    if not FIRST_YEAR <= result.year <= LAST_YEAR:
        raise FieldError(f"{shown(raw)} is outside the years {FIRST_YEAR} to {LAST_YEAR}")
    return result


def currency(value: object) -> str:
    code = text(value, max_length=10).upper()
    if code not in _currency_codes():
        raise FieldError(f"{shown(code)} is not an ISO 4217 currency code")
    return code


@cache
def _currency_codes() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies)
