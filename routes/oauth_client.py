"""Talking to a provider's authorization server, through Authlib's httpx client: the
authorization URL (code flow with PKCE S256), the code exchange, refresh and revocation.
Token-endpoint refusals become TokenRefused with what the provider said; network
trouble stays an httpx error for the caller to classify."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx2
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from routes.oauth_providers import ProviderConfig


@dataclass
class TokenRefused(Exception):
    """The token endpoint answered with an OAuth error (RFC 6749 section 5.2)."""

    error: str  # invalid_grant, invalid_client, ...
    description: str = ""
    status: int | None = None
    retry_after: float | None = None

    def __post_init__(self):
        super().__init__(self.error)

    def __str__(self) -> str:
        return self.error

    def provider_code(self) -> str:
        """The error and, for Microsoft, its AADSTS number: "invalid_grant, AADSTS700082"."""
        first = self.description.split(":", 1)[0].strip()
        return f"{self.error}, {first}" if first.startswith("AADSTS") else self.error


def client_for(provider: ProviderConfig, *, redirect_uri: str | None = None) -> OAuth2Client:
    return OAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        scope=" ".join(provider.scopes),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        # client_secret_post: both providers document it, and Google's token endpoint
        # takes the secret in the body.
        token_endpoint_auth_method="client_secret_post",
        timeout=settings.OAUTH_HTTP_TIMEOUT,
        follow_redirects=False,
    )


def authorization_url(
    provider: ProviderConfig, *, redirect_uri: str, state: str, code_verifier: str
) -> str:
    with client_for(provider, redirect_uri=redirect_uri) as client:
        url, _ = client.create_authorization_url(
            provider.authorize_url,
            state=state,
            code_verifier=code_verifier,
            **provider.authorize_params,
        )
    return url


@sensitive_variables("code", "code_verifier")
def exchange_code(
    provider: ProviderConfig, *, code: str, code_verifier: str, redirect_uri: str
) -> dict:
    with client_for(provider, redirect_uri=redirect_uri) as client:
        return _token_call(
            lambda: client.fetch_token(
                provider.token_url,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
            ),
            client,
        )


@sensitive_variables("refresh_token")
def refresh(provider: ProviderConfig, *, refresh_token: str) -> dict:
    with client_for(provider) as client:
        return dict(
            _token_call(
                lambda: client.refresh_token(provider.token_url, refresh_token=refresh_token),
                client,
            )
        )


@sensitive_variables("token")
def revoke(provider: ProviderConfig, *, token: str) -> None:
    """Revoke a grant where the provider can (Google: RFC 7009). A token the provider no
    longer knows is already revoked, which is what we wanted."""
    if not provider.revoke_url:
        return
    with client_for(provider) as client:
        response = client.revoke_token(provider.revoke_url, token=token)
    if response.status_code >= 500 or response.status_code == 429:
        response.raise_for_status()


def _token_call(call, client: OAuth2Client) -> dict:
    responses: list[httpx2.Response] = []

    def keep(response):
        responses.append(response)
        return response

    client.register_compliance_hook("access_token_response", keep)
    client.register_compliance_hook("refresh_token_response", keep)
    try:
        return call()
    except OAuthError as error:
        response = responses[-1] if responses else None
        raise TokenRefused(
            error=error.error or "error",
            description=(error.description or "")[:300],
            status=response.status_code if response is not None else None,
            retry_after=retry_after_seconds(response) if response is not None else None,
        ) from None
    except httpx2.HTTPStatusError as error:
        raise TokenRefused(
            error="server_error" if error.response.status_code >= 500 else "http_error",
            description=f"HTTP {error.response.status_code}",
            status=error.response.status_code,
            retry_after=retry_after_seconds(error.response),
        ) from None


def retry_after_seconds(response: httpx2.Response) -> float | None:
    """Retry-After in seconds (RFC 9110 section 10.2.3 also allows an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - timezone.now()).total_seconds())
