"""The password reset request: the mail is looked up and sent by a Celery task."""

from __future__ import annotations

import unicodedata

from django import forms
from django.contrib.auth.forms import PasswordResetForm

from yaypay_mail.auth import normalise_login

from .enqueue import enqueue_password_reset
from .reset_mail import accounts_for


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

    def save(self, **kwargs) -> None:
        """Enqueue the task on commit, for any address: whether it has an account is
        decided in the worker, so the response is the same and as fast either way. The
        link is built from SITE_URL there; the request's Host never reaches the mail."""
        enqueue_password_reset(normalise_login(self.cleaned_data["email"]))
