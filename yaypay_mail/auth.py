"""Users log in with their email address in Django's `username` field."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


def normalised_login(request, credentials: dict) -> str:
    """The account key for login throttling: the email address as typed, case-folded."""
    return (credentials.get("username") or "").strip().lower()


class EmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        user = get_user_model().objects.filter(email__iexact=username.strip()).first()
        if user is None:
            # Spend the same time as a real check so timing does not reveal accounts.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
