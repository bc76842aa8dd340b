"""The Statement page's query string: ?tab=invoices|emails&page=<n>."""

from __future__ import annotations

from django import forms

from communications.filters import BoundedChoiceField, page_field

TABS = [("invoices", "Invoices"), ("emails", "Emails")]


class StatementFilters(forms.Form):
    tab = BoundedChoiceField(
        required=False,
        choices=[("", "Invoices"), *TABS],
        error_messages={"invalid_choice": "Choose the Invoices or Emails tab."},
    )
    page = page_field()
