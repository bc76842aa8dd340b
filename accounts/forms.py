"""The password reset request: the mail is looked up and sent by a Celery task."""

from __future__ import annotations

import unicodedata

from django import forms
from django.contrib.auth.forms import PasswordResetForm

from yaypay_mail.auth import normalise_login

from .reset_mail import accounts_for
from .tasks import send_password_reset


class NFKCEmailField(forms.EmailField):
    """Full-width and other compatibility forms are read as what they mean, as at login."""

    def to_python(self, value):
        return unicodedata.normalize("NFKC", super().to_python(value))


class PasswordResetRequestForm(PasswordResetForm):
    email = NFKCEmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def get_users(self, email):
        return iter(accounts_for(email))

    def save(self, *, domain_override=None, use_https=False, request=None, **kwargs):
        """Enqueue the task on commit, for any address: whether it has an account is
        decided in the worker, so the response is the same and as fast either way."""
        domain = domain_override or request.get_host()
        base_url = f"{'https' if use_https else 'http'}://{domain}"
        send_password_reset.delay_on_commit(normalise_login(self.cleaned_data["email"]), base_url)
