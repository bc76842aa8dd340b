"""CSV cells a spreadsheet shows and never runs: the one list every export neutralises."""

from __future__ import annotations

# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice
# and Google Sheets (OWASP's "CSV injection"): = + - @ start formulas, | starts a DDE
# call in older Excel, and a tab, CR or LF is skipped by some readers, so whatever
# follows it starts the cell.
FORMULA_STARTS = ("=", "+", "-", "@", "|", "\t", "\r", "\n")


def neutralise(text: str) -> str:
    """`text` as a spreadsheet shows it and never evaluates: a leading ' when it would
    start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
