"""Connecting a mailbox: the authorization code flow with PKCE, from "Connect" to a
stored grant. The flow's state, PKCE verifier, provider, tenant and admin are kept in
the admin's session; the callback must match all of them, and uses them once."""

from __future__ import annotations

import base64
import binascii
import json
import secrets as random_tokens
import time
from dataclasses import dataclass

import httpx2
from django.conf import settings
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.debug import sensitive_variables

from routes.oauth_client import TokenRefused, authorization_url, exchange_code
from routes.oauth_providers import ProviderConfig, admin_consent_url
from routes.oauth_tokens import Grant, expiry

SESSION_KEY = "oauth_flow"
FLOW_SECONDS = 600  # a sign-in left longer than this at the provider starts over
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
SEND_SCOPES = {"microsoft": "mail.send", "google": "https://www.googleapis.com/auth/gmail.send"}


class ConnectRefused(Exception):
    """The sign-in cannot complete; the sentence says why and what to do. Nothing changed."""


@dataclass(frozen=True)
class AdminConsent:
    """An organisation's admin approved the app for everyone (no mailbox connected yet)."""


def start(
    provider: ProviderConfig, *, redirect_uri: str, tenant_id: int, user_id: int, admin: bool
) -> tuple[str, dict]:
    """The provider's sign-in URL, and the flow to keep in the session."""
    state = random_tokens.token_urlsafe(32)
    verifier = random_tokens.token_urlsafe(64)  # RFC 7636: 43 to 128 characters
    flow = {
        "provider": provider.name,
        "state": state,
        "verifier": verifier,
        "tenant_id": tenant_id,
        "user_id": user_id,
        "redirect_uri": redirect_uri,
        "started": time.time(),
        "admin_consent": admin,
    }
    if admin:
        return admin_consent_url(redirect_uri=redirect_uri, state=state), flow
    url = authorization_url(
        provider, redirect_uri=redirect_uri, state=state, code_verifier=verifier
    )
    return url, flow


@sensitive_variables("flow", "code", "token")
def finish(
    provider: ProviderConfig, *, flow: dict | None, query, tenant_id: int, user_id: int
) -> Grant | AdminConsent:
    """Check the callback against the flow, exchange the code, read the mailbox address.
    Raises ConnectRefused."""
    label = provider.label
    again = f"Click Connect {label} to try again."
    if not flow or not query.get("state"):
        raise ConnectRefused(
            f"This sign-in is not one this browser started, or it was already used. {again}"
        )
    if flow["provider"] != provider.name:
        raise ConnectRefused(
            f"You came back from a different provider than the one you started with. {again}"
        )
    if not constant_time_compare(flow["state"], query.get("state", "")):
        raise ConnectRefused(
            f"This sign-in is not one this browser started, or it was already used. {again}"
        )
    if flow["tenant_id"] != tenant_id or flow["user_id"] != user_id:
        raise ConnectRefused(f"This sign-in was started for another company or user. {again}")
    if time.time() - flow["started"] > FLOW_SECONDS:
        raise ConnectRefused(f"The sign-in took longer than {FLOW_SECONDS // 60} minutes. {again}")
    if query.get("error"):
        raise ConnectRefused(_provider_said_no(provider, query))
    if flow.get("admin_consent"):
        if query.get("admin_consent", "").lower() != "true":
            raise ConnectRefused(f"{label} did not confirm the administrator's consent. {again}")
        return AdminConsent()
    code = query.get("code", "")
    if not code:
        raise ConnectRefused(f"{label} sent no authorization code back. {again}")
    try:
        token = exchange_code(
            provider, code=code, code_verifier=flow["verifier"], redirect_uri=flow["redirect_uri"]
        )
    except TokenRefused as refused:
        raise ConnectRefused(
            f"{label} did not accept this sign-in ({refused.provider_code()}). {again}"
        ) from None
    except httpx2.HTTPError as error:
        raise ConnectRefused(
            f"{label} could not be reached ({error.__class__.__name__}). {again}"
        ) from None
    if not token.get("refresh_token"):
        raise ConnectRefused(
            f"{label} gave YayPay no lasting access (no refresh token), so reminders could "
            f"not be sent later. {again}"
        )
    if not _granted_send(provider, token):
        raise ConnectRefused(
            f"You did not allow YayPay to send email as this mailbox. {again} "
            "On the consent page, leave the permission to send email ticked."
        )
    account = _account_email(provider, token)
    return Grant(
        account_email=account,
        refresh_token=token["refresh_token"],
        access_token=token["access_token"],
        expires_at=expiry(token, timezone.now()),
    )


def _provider_said_no(provider: ProviderConfig, query) -> str:
    error = query.get("error", "")[:60]
    description = " ".join(query.get("error_description", "").split())[:200]
    if error == "access_denied":
        return (
            f"Access was not granted at {provider.label} ({error}). Nothing was changed. "
            f"Click Connect {provider.label} and choose Accept to connect the mailbox."
        )
    if "AADSTS65001" in description or "AADSTS90094" in description or error == "consent_required":
        return (
            f"Your organisation lets only administrators approve apps ({error}). Ask your "
            "Microsoft 365 administrator to click Grant admin consent on this page, then "
            "connect again."
        )
    said = f"{error}: {description}" if description else error
    return f"{provider.label} stopped the sign-in ({said}). Nothing was changed."


def _granted_send(provider: ProviderConfig, token: dict) -> bool:
    granted = token.get("scope")
    if not granted:
        return True  # the provider granted what was asked (RFC 6749 section 5.1)
    scopes = {scope.lower().rsplit("/", 1)[-1] for scope in str(granted).split()}
    wanted = SEND_SCOPES[provider.name].lower().rsplit("/", 1)[-1]
    return wanted in scopes


@sensitive_variables("token", "headers")
def _account_email(provider: ProviderConfig, token: dict) -> str:
    if provider.name == "microsoft":
        return _graph_me(provider, token)
    return _google_id_token(provider, token)


@sensitive_variables("token", "headers")
def _graph_me(provider: ProviderConfig, token: dict) -> str:
    """The mailbox from GET /me (mail, else userPrincipalName), not from an id token:
    Entra's email claim is optional and unverified.
    https://learn.microsoft.com/en-us/graph/api/user-get?view=graph-rest-1.0"""
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    try:
        response = httpx2.get(
            f"{settings.MICROSOFT_GRAPH_URL}/v1.0/me",
            headers=headers,
            timeout=settings.OAUTH_HTTP_TIMEOUT,
            follow_redirects=False,
        )
        me = response.json() if response.status_code == 200 else {}
    except (httpx2.HTTPError, ValueError):
        me = {}
    address = (me.get("mail") or me.get("userPrincipalName") or "") if isinstance(me, dict) else ""
    if "@" not in str(address):
        raise ConnectRefused(
            "Microsoft 365 did not say which mailbox you signed in to. Click Connect "
            "Microsoft 365 to try again."
        )
    return str(address)[:254]


@sensitive_variables("token")
def _google_id_token(provider: ProviderConfig, token: dict) -> str:
    """The address from the id_token. It came straight from Google's token endpoint over
    TLS, authenticated with our client secret, so its signature need not be checked
    (developers.google.com/identity/openid-connect/openid-connect#obtainuserinfo); its
    issuer, audience and verified flag still are: an account from another provider or
    another app is refused."""
    claims = _jwt_claims(token.get("id_token", ""))
    if claims.get("iss") not in GOOGLE_ISSUERS or claims.get("aud") != provider.client_id:
        raise ConnectRefused(
            "The account that came back is not a Google account for YayPay. Click Connect "
            "Google to try again."
        )
    if not claims.get("email") or claims.get("email_verified") not in (True, "true"):
        raise ConnectRefused(
            "Google did not give a verified address for this account. Click Connect Google "
            "to try again."
        )
    return str(claims["email"])[:254]


def _jwt_claims(id_token: str) -> dict:
    try:
        payload = id_token.split(".")[1]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(decoded)
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}
