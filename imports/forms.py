from __future__ import annotations

from django import forms

from yaypay_mail.formatting import date_order, decimal_mark

from .reader import FileRejected, check_size

KIND_CHOICES = [("customers", "Customers"), ("invoices", "Invoices")]
ENCODING_CHOICES = [
    ("auto", "Detect (UTF-8, else Windows-1252)"),
    ("utf-8", "UTF-8"),
    ("windows-1252", "Windows-1252 (Excel on Windows)"),
]
DECIMAL_CHOICES = [("point", "1,234.56"), ("comma", "1.234,56")]
DATE_CHOICES = [
    ("iso", "2026-03-31 (YYYY-MM-DD)"),
    ("mdy", "03/31/2026 (MM/DD/YYYY)"),
    ("dmy", "31/03/2026 (DD/MM/YYYY)"),
]
DELIMITER_CHOICES = [
    ("auto", "Detect (comma, semicolon or tab)"),
    ("comma", "Comma ,"),
    ("semicolon", "Semicolon ; (Excel in much of Europe)"),
    ("tab", "Tab"),
]
SYNC_CHOICES = [
    ("upsert", "Add and update"),
    ("full", "Mark invoices missing from this file as paid"),
]
DEFAULTS = {
    "encoding": "auto",
    "delimiter": "auto",
    "decimal": "point",
    "date_format": "iso",
    "sync": "upsert",
}


def locale_defaults(locale: str) -> dict[str, str]:
    """What the page preselects: DEFAULTS with amounts and dates as the tenant's locale
    writes them (de_DE -> comma and dmy, en_US -> point and mdy)."""
    return {**DEFAULTS, "decimal": decimal_mark(locale), "date_format": date_order(locale)}


class ImportForm(forms.Form):
    file = forms.FileField(label="CSV file")
    kind = forms.ChoiceField(label="What the file holds", choices=KIND_CHOICES)
    encoding = forms.ChoiceField(label="Encoding", choices=ENCODING_CHOICES, required=False)
    delimiter = forms.ChoiceField(
        label="Values separated by", choices=DELIMITER_CHOICES, required=False
    )
    decimal = forms.ChoiceField(label="Amounts look like", choices=DECIMAL_CHOICES, required=False)
    date_format = forms.ChoiceField(label="Dates look like", choices=DATE_CHOICES, required=False)
    # A checkbox on the page that posts sync=full; absent means upsert.
    sync = forms.ChoiceField(choices=SYNC_CHOICES, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            check_size(upload.size)
        except FileRejected as error:
            raise forms.ValidationError(str(error)) from None
        return upload

    def clean(self):
        data = super().clean()
        # An option the request leaves out means DEFAULTS, whatever the locale: the page
        # always sends its selects (preselected by locale_defaults); a script gets one rule.
        for name, default in DEFAULTS.items():
            if name not in self.errors and not data.get(name):
                data[name] = default
        if data.get("sync") == "full" and data.get("kind") == "customers":
            self.add_error(
                "sync", "Marking missing invoices as paid works with an invoices file only."
            )
        return data
