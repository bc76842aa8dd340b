"""A connected mailbox's tokens at rest and in use: stored Fernet-encrypted, shared by
every worker, refreshed by one worker at a time.

A worker that finds the access token expired takes the connection's row lock, reads
the row again, and refreshes only if nobody did while it waited; the others wait on the
lock and reuse the new token. The new access token and a refresh token the provider
rotated are written in that same transaction, so a rotated refresh token is never lost
between two workers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx2
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from routes import secrets
from routes.api_errors import (
    not_connected,
    token_failure,
    token_network_failure,
    tokens_unreadable,
    turned_off,
)
from routes.models import OAuthConnection
from routes.oauth_client import TokenRefused, refresh, revoke
from routes.oauth_providers import ProviderConfig, provider

logger = logging.getLogger(__name__)

# Refresh a little before the provider's expiry, so a token never dies mid-batch.
EARLY = timedelta(seconds=120)


@dataclass(frozen=True)
class Grant:
    """What a finished sign-in gives: the mailbox and its tokens."""

    account_email: str
    refresh_token: str
    access_token: str
    expires_at: datetime


@dataclass(frozen=True)
class AccessToken:
    value: str
    account_email: str


def expiry(token: dict, now: datetime) -> datetime:
    return now + timedelta(seconds=int(token.get("expires_in") or 3600))


@sensitive_variables("grant")
def save_grant(*, tenant, provider_name: str, grant: Grant, actor) -> OAuthConnection:
    """Store a new connection, replacing the tenant's previous one of this provider. A
    replaced account's grant is revoked where the provider can (the same account's is
    not: at Google that would revoke the new grant too)."""
    previous = connection_for(tenant.pk, provider_name)
    config = provider(provider_name)
    if (
        previous is not None
        and config is not None
        and config.revoke_url
        and previous.account_email.lower() != grant.account_email.lower()
        and not _shared(previous)
    ):
        _revoke(config, previous)
    connection, _ = OAuthConnection.objects.update_or_create(
        tenant=tenant,
        provider=provider_name,
        defaults={
            "account_email": grant.account_email,
            "refresh_token_encrypted": secrets.encrypt(grant.refresh_token),
            "access_token_encrypted": secrets.encrypt(grant.access_token),
            "access_expires_at": grant.expires_at,
            "connected_at": timezone.now(),
            "connected_by": actor,
        },
    )
    return connection


def connection_for(tenant_id: int, provider_name: str) -> OAuthConnection | None:
    return OAuthConnection.objects.filter(tenant_id=tenant_id, provider=provider_name).first()


def access_token(tenant_id: int, provider_name: str, *, rejected: str = "") -> AccessToken:
    """A valid access token of the tenant's connected mailbox. `rejected`: a token the
    provider just refused (401); it is renewed unless another worker already did.
    Raises SendFailure: not connected, grant refused, provider or network trouble."""
    connection = connection_for(tenant_id, provider_name)
    if connection is None:
        raise not_connected(provider_name)
    current = _usable(connection, rejected)
    if current is not None:
        return AccessToken(current, connection.account_email)
    return _refresh_locked(connection.pk, provider_name, rejected)


@sensitive_variables("value")
def _usable(connection: OAuthConnection, rejected: str) -> str | None:
    if not connection.access_token_encrypted or connection.access_expires_at is None:
        return None
    if connection.access_expires_at - EARLY <= timezone.now():
        return None
    try:
        value = secrets.decrypt(connection.access_token_encrypted)
    except secrets.SecretUnreadable:
        return None  # renewed below; the refresh token tells whether keys are missing
    return None if rejected and value == rejected else value


@sensitive_variables("refresh_token", "token", "value")
def _refresh_locked(pk: int, provider_name: str, rejected: str) -> AccessToken:
    config = provider(provider_name)
    if config is None:
        raise turned_off(provider_name)
    with transaction.atomic():
        # A no-op write takes the row's lock on PostgreSQL (and the write lock on
        # SQLite), so exactly one worker refreshes; the rest wait here.
        if not OAuthConnection.objects.filter(pk=pk).update(provider=F("provider")):
            raise not_connected(provider_name)
        connection = OAuthConnection.objects.get(pk=pk)
        current = _usable(connection, rejected)
        if current is not None:
            return AccessToken(current, connection.account_email)
        try:
            refresh_token = secrets.decrypt(connection.refresh_token_encrypted)
        except secrets.SecretUnreadable:
            raise tokens_unreadable(provider_name) from None
        token = _call_refresh(config, refresh_token)
        now = timezone.now()
        value = token["access_token"]
        fields = {
            "access_token_encrypted": secrets.encrypt(value),
            "access_expires_at": expiry(token, now),
        }
        rotated = token.get("refresh_token")
        if rotated and rotated != refresh_token:
            fields["refresh_token_encrypted"] = secrets.encrypt(rotated)
        OAuthConnection.objects.filter(pk=pk).update(**fields)
    logger.info("Access token of tenant %s (%s) renewed", connection.tenant_id, provider_name)
    return AccessToken(value, connection.account_email)


@sensitive_variables("refresh_token")
def _call_refresh(config: ProviderConfig, refresh_token: str) -> dict:
    try:
        return refresh(config, refresh_token=refresh_token)
    except TokenRefused as refused:
        failure = token_failure(config.name, refused)
        # invalid_client and the like: the operator's app registration; alert them.
        log = logger.error if failure.code == "provider_config" else logger.warning
        log("Token refresh refused by %s: %s", config.name, refused.provider_code())
        raise failure from None
    except httpx2.HTTPError as error:
        raise token_network_failure(config.name, error) from None


def disconnect(*, tenant, provider_name: str) -> str:
    """Revoke where the provider can (Google), then delete. Returns a sentence about the
    revocation for the page; the connection is deleted whatever the provider said."""
    connection = connection_for(tenant.pk, provider_name)
    if connection is None:
        return ""
    config = provider(provider_name)
    note = ""
    if config is not None and config.revoke_url and not _shared(connection):
        note = _revoke(config, connection)
    elif config is not None and config.revoke_url:
        note = "Another YayPay company still uses this Google account, so its access stays."
    elif config is not None:
        note = (
            "Microsoft has no way for an app to revoke its access; YayPay deleted it. To end it "
            "at Microsoft too, remove YayPay at myapps.microsoft.com (or ask your IT)."
        )
    connection.delete()
    return note


def _shared(connection: OAuthConnection) -> bool:
    """Whether another tenant connected the same account: revoking at Google ends the
    account's whole grant to YayPay, theirs included."""
    return (
        OAuthConnection.objects.filter(
            provider=connection.provider, account_email__iexact=connection.account_email
        )
        .exclude(pk=connection.pk)
        .exists()
    )


@sensitive_variables("token")
def _revoke(config: ProviderConfig, connection: OAuthConnection) -> str:
    try:
        token = secrets.decrypt(connection.refresh_token_encrypted)
        revoke(config, token=token)
    except (secrets.SecretUnreadable, httpx2.HTTPError) as error:
        logger.warning("Revoking the %s grant failed: %s", config.name, error.__class__.__name__)
        return (
            "Google could not be reached to revoke YayPay's access; YayPay deleted it. You can "
            "also remove YayPay at myaccount.google.com/permissions."
        )
    return "Google revoked YayPay's access."
