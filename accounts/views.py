"""Django's password reset views, with our form and the request limits."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.utils import timezone

from . import reset_limit
from .addresses import client_address
from .forms import PasswordResetRequestForm


class PasswordResetRequestView(auth_views.PasswordResetView):
    form_class = PasswordResetRequestForm

    def form_valid(self, form):
        retry_at = reset_limit.admit(client=client_address(self.request))
        if retry_at is not None:
            context = {"retry_at": timezone.localtime(retry_at)}
            return render(
                self.request, "registration/password_reset_limited.html", context, status=429
            )
        return super().form_valid(form)
