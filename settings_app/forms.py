from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from routes.hostguard import normalise_host
from routes.models import Encryption, OutgoingEmailSettings, UseServer
from routes.oauth_providers import enabled_providers, provider

PROVIDERS = (UseServer.MICROSOFT, UseServer.GOOGLE)

_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
SMTP_REQUIRED = ("from_email", "host", "port", "encryption")
# Changing any of these could send the stored password somewhere new.
PASSWORD_BOUND = ("host", "port", "username")


def _one_line(value: str, label: str) -> str:
    if _CONTROL.search(value):
        raise ValidationError(
            f"{label} must be one line, without line breaks or control characters."
        )
    return value


class OutgoingEmailForm(forms.Form):
    use_server = forms.ChoiceField(
        label="Use server for emails", choices=UseServer.choices, widget=forms.RadioSelect
    )
    from_email = forms.EmailField(label="From", required=False, max_length=254)
    sender_name = forms.CharField(label="Sender Name", required=False, max_length=100, strip=False)
    host = forms.CharField(label="SMTP Server", required=False, max_length=253)
    port = forms.IntegerField(label="Port", required=False, min_value=1, max_value=65535)
    username = forms.CharField(label="Username", required=False, max_length=254)
    password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        max_length=512,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    encryption = forms.ChoiceField(
        label="Encryption method", choices=Encryption.choices, required=False
    )

    def __init__(self, *args, stored: OutgoingEmailSettings, connected=(), **kwargs):
        """`connected`: the providers whose mailbox the tenant has connected."""
        self.stored = stored
        self.connected = set(connected)
        super().__init__(*args, **kwargs)
        offered = {config.name for config in enabled_providers()}
        self.fields["use_server"].choices = [
            (value, label)
            for value, label in UseServer.choices
            if value not in PROVIDERS or value in offered or value == stored.use_server
        ]

    def clean_from_email(self) -> str:
        return _one_line(self.cleaned_data["from_email"], "From")

    def clean_sender_name(self) -> str:
        return _one_line(self.cleaned_data["sender_name"], "Sender Name").strip()

    def clean_username(self) -> str:
        return _one_line(self.cleaned_data["username"], "Username")

    def clean_password(self) -> str:
        value = self.cleaned_data["password"]
        if "\0" in value or "\r" in value or "\n" in value:
            raise ValidationError("The password cannot contain line breaks or NUL characters.")
        return value

    def clean_host(self) -> str:
        value = self.cleaned_data["host"]
        return normalise_host(value) if value.strip() else ""

    def clean(self):
        data = super().clean()
        if data.get("use_server") in PROVIDERS:
            label = UseServer(data["use_server"]).label
            if provider(data["use_server"]) is None:
                self.add_error("use_server", f"{label} is not available; choose another server.")
            elif data["use_server"] not in self.connected:
                self.add_error(
                    "use_server",
                    f"Connect {label} first: click Connect {label}, sign in, and come back.",
                )
            return data
        if data.get("use_server") != UseServer.SMTP:
            return data
        for name in SMTP_REQUIRED:
            if name not in self.errors and data.get(name) in (None, ""):
                self.add_error(name, "Required when the server is SMTP.")
        if self.errors:
            return data
        if data["username"] and not data["password"]:
            if not self.stored.has_password:
                self.add_error("password", "Enter the password for this username.")
            elif self.password_bound_fields_changed():
                self.add_error(
                    "password",
                    "Type the password again: the SMTP Server, Port or Username changed, "
                    "and the saved password is only sent to the server it was saved for.",
                )
        return data

    def password_bound_fields_changed(self) -> bool:
        stored = self.stored
        return (
            self.cleaned_data.get("host") != stored.host
            or self.cleaned_data.get("port") != stored.port
            or self.cleaned_data.get("username") != stored.username
        )
