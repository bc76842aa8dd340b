"""The placeholders a tenant may write in its reminder's subject and paragraphs:
{customer_name}, {total_overdue}, {balance_due}, {oldest_days_overdue}.

Tenant text is never a template: it is parsed with string.Formatter and only these
names, without format specs, conversions, attributes or indexes, are replaced by plain
strings (the email's template escapes the result). Anything else is refused up front,
so a saved text always fills."""

from __future__ import annotations

from string import Formatter

PLACEHOLDERS = {
    "customer_name": "the customer's name",
    "total_overdue": "the overdue invoices' total, per currency, before credits",
    "balance_due": "the balance to pay, per currency: the overdue invoices less open credits",
    "oldest_days_overdue": "the days the oldest invoice is overdue",
}

_LIST = ", ".join("{" + name + "}" for name in PLACEHOLDERS)


class PlaceholderError(ValueError):
    """A text that does not fill: the message says what to write instead."""


def _pieces(text: str) -> list[tuple[str, str | None]]:
    """(literal text, placeholder name or None) pairs, or PlaceholderError."""
    try:
        parsed = list(Formatter().parse(text))
    except ValueError:
        raise PlaceholderError(
            f"A brace does not close a placeholder. Use {_LIST}; "
            "write {{ and }} for a brace of its own."
        ) from None
    pieces = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            pieces.append((literal, None))
            continue
        shown = (
            "{"
            + name
            + (f"!{conversion}" if conversion else "")
            + (f":{spec}" if spec else "")
            + "}"
        )
        if name not in PLACEHOLDERS or spec or conversion:
            raise PlaceholderError(f"Unknown placeholder {shown}. Use {_LIST}.")
        pieces.append((literal, name))
    return pieces


def check(text: str) -> None:
    _pieces(text)


def fill(text: str, values: dict[str, str]) -> str:
    return "".join(literal + (values[name] if name else "") for literal, name in _pieces(text))
