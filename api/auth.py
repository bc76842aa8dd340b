"""Bearer-token authentication for /api/v1/, with the per-token rate limit."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security.http import HttpBearer

from . import tokens
from .errors import ApiError, error
from .models import ApiToken

INVALID_TOKEN = "The API token is not valid or was revoked."


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`: sets request.auth to the ApiToken. Unlike ninja's
    own HttpBearer, never logs the header (it holds the secret)."""

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        value = request.headers.get("Authorization", "")
        if not value:
            return None
        scheme, _, raw = value.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise AuthenticationError(message="The Authorization header must be: Bearer <token>.")
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = tokens.token_lookup(token)
        if found is None:
            raise AuthenticationError(message=INVALID_TOKEN)
        retry_after = tokens.admit(found, limit=settings.API_RATE_LIMIT)
        if retry_after is not None:
            if not tokens.token_active(found):  # revoked since the lookup
                raise AuthenticationError(message=INVALID_TOKEN)
            raise ApiError(
                429,
                [
                    error(
                        "authorization",
                        f"More than {settings.API_RATE_LIMIT} requests a minute with this "
                        f"token; retry in {retry_after} s.",
                    )
                ],
                Retry_After=str(retry_after),
            )
        return found
