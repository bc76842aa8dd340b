"""Users log in with their email address; Django's `username` field holds its
normalised form (see `normalise_login`), which is unique and looked up exactly."""

from __future__ import annotations

import unicodedata

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


def normalise_login(value: str) -> str:
    """NFKC, then case-folded (then NFKC again, as case folding can undo it).

    `ADMIN@Acme.example` and its full-width form become `admin@acme.example`;
    a look-alike such as a dotless `ı` stays a different address."""
    folded = unicodedata.normalize("NFKC", (value or "").strip()).casefold()
    return unicodedata.normalize("NFKC", folded).strip()


def normalised_login(request, credentials: dict | None) -> str:
    """The account key for login throttling (AXES_USERNAME_CALLABLE)."""
    if credentials:
        typed = credentials.get("username")
    else:
        typed = request.POST.get("username") if request is not None else None
    return normalise_login(typed or "")


class EmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        users = get_user_model().objects
        user = users.filter(username=normalise_login(username)).first()
        if user is None:
            # Spend the same time as a real check so timing does not reveal accounts.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
