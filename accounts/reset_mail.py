"""The password reset email, sent through the platform gateway."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from routes.choice import gateway_server
from routes.messages import build_message
from routes.smtp import SMTPConnection
from yaypay_mail.auth import normalise_login

FROM_NAME = "YayPay"


def accounts_for(email: str) -> list:
    """Active users with a usable password whose normalised login is exactly `email`'s."""
    users = get_user_model()._default_manager.filter(
        username=normalise_login(email), is_active=True
    )
    return [user for user in users if user.has_usable_password()]


def reset_url(user) -> str:
    """The link on SITE_URL, the public address: never the Host a request came with."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("password_reset_confirm", args=[uid, token])


def send_reset_mail(*, login: str) -> int:
    """Mail a reset link to each account whose normalised login is `login` (none or one),
    at the address stored for it. Returns how many were sent; raises SendFailure."""
    sent = 0
    for user in accounts_for(login):
        context = {"user": user, "email": user.email, "reset_url": reset_url(user)}
        subject = render_to_string("accounts/password_reset_subject.txt", context)
        message = build_message(
            from_email=settings.DEFAULT_FROM_EMAIL,
            from_name=FROM_NAME,
            to=[user.email],
            subject=" ".join(subject.split()),
            text=render_to_string("accounts/password_reset_body.txt", context),
            html=render_to_string("accounts/password_reset_body.html", context),
        )
        server = gateway_server(timeout=settings.SMTP_TIMEOUT)
        with SMTPConnection(server, deadline=time.monotonic() + settings.SMTP_DEADLINE) as smtp:
            smtp.send(message)
        sent += 1
    return sent
