from __future__ import annotations

import re

from django import forms

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What uses this token, for example: NetSuite nightly sync.",
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if _CONTROL.search(name):
            raise forms.ValidationError("Line breaks and control characters are not allowed.")
        return name
