"""The two OAuth mailbox providers: where their endpoints are, which scopes we ask for,
and whether the operator configured them. Endpoint URLs come from the operator's
settings only; no tenant input is ever part of a URL we fetch, except the saved From
address as one percent-encoded path segment on the fixed Graph host (shared mailboxes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin

from django.conf import settings

from routes.models import Provider

# https://learn.microsoft.com/en-us/graph/permissions-reference: Mail.Send (as the
# signed-in user), Mail.Send.Shared (as a mailbox the user has Send As rights on),
# User.Read (GET /me, for the mailbox address), offline_access (a refresh token).
MICROSOFT_SCOPES = (
    "https://graph.microsoft.com/Mail.Send",
    "https://graph.microsoft.com/Mail.Send.Shared",
    "https://graph.microsoft.com/User.Read",
    "offline_access",
)
# https://developers.google.com/gmail/api/auth/scopes: gmail.send is the narrowest scope
# that sends; openid + email give a verified address in the id_token.
GOOGLE_SCOPES = ("https://www.googleapis.com/auth/gmail.send", "openid", "email")


@dataclass(frozen=True)
class ProviderConfig:
    name: str  # Provider value: microsoft | google
    label: str  # Microsoft 365 | Google
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    revoke_url: str = ""  # Microsoft has no endpoint that revokes a refresh token
    authorize_params: dict = field(default_factory=dict)


def microsoft() -> ProviderConfig:
    base = f"{settings.MICROSOFT_AUTHORITY_URL}/{settings.MICROSOFT_TENANT}"
    return ProviderConfig(
        name=Provider.MICROSOFT,
        label=Provider.MICROSOFT.label,
        client_id=settings.MICROSOFT_CLIENT_ID,
        client_secret=settings.MICROSOFT_CLIENT_SECRET,
        authorize_url=f"{base}/oauth2/v2.0/authorize",
        token_url=f"{base}/oauth2/v2.0/token",
        scopes=MICROSOFT_SCOPES,
        # The admin picks the mailbox each time, not whatever account the browser has.
        authorize_params={"prompt": "select_account"},
    )


def google() -> ProviderConfig:
    return ProviderConfig(
        name=Provider.GOOGLE,
        label=Provider.GOOGLE.label,
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET,
        authorize_url=settings.GOOGLE_AUTH_URL,
        token_url=settings.GOOGLE_TOKEN_URL,
        scopes=GOOGLE_SCOPES,
        revoke_url=urljoin(settings.GOOGLE_TOKEN_URL, "revoke"),
        # offline: a refresh token; consent: a new one even when the account had
        # connected before (Google sends it only on the first consent otherwise).
        authorize_params={"access_type": "offline", "prompt": "consent select_account"},
    )


# The providers' own sending limits (per minute, per day). The outbox applies the lower of
# these and the tenant's limits, so a tenant is never pushed past what its mailbox allows.
# Exchange Online: 30 messages a minute, 10,000 recipients a day
# (learn.microsoft.com/en-us/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits);
# Google Workspace: 2,000 messages a day (support.google.com/a/answer/166852).
ROUTE_CAPS: dict[str, tuple[int | None, int | None]] = {
    Provider.MICROSOFT: (30, 10_000),
    Provider.GOOGLE: (None, 2_000),
}

_BUILDERS = {Provider.MICROSOFT: microsoft, Provider.GOOGLE: google}


def provider(name: str) -> ProviderConfig | None:
    """The provider by name, or None when it is unknown or the operator left it unset."""
    builder = _BUILDERS.get(name)
    if builder is None:
        return None
    config = builder()
    return config if config.client_id else None


def enabled_providers() -> list[ProviderConfig]:
    return [config for name in _BUILDERS if (config := provider(name)) is not None]


def admin_consent_url(*, redirect_uri: str, state: str) -> str:
    """Microsoft's admin-consent page, for organisations that block user consent.
    https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent"""
    query = urlencode(
        {
            "client_id": settings.MICROSOFT_CLIENT_ID,
            "scope": " ".join(s for s in MICROSOFT_SCOPES if s != "offline_access"),
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    # The admin consent endpoint needs a directory: "common" (our default) is refused
    # there, and "organizations" lets the admin's own organisation be picked at sign-in.
    tenant = settings.MICROSOFT_TENANT
    if tenant in ("common", "consumers"):
        tenant = "organizations"
    return f"{settings.MICROSOFT_AUTHORITY_URL}/{tenant}/v2.0/adminconsent?{query}"
