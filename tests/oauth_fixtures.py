"""Fixtures for mailboxes connected with OAuth: the local provider stand-in
(tests/oauth_standin.py) with a cast of accounts, settings pointing the product at it,
and the three steps of connecting (Connect, Accept at the provider, back)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.oauth_standin import StandIn

MS_ACCOUNT = "ar.clerk@acme.example"  # a Microsoft 365 user with Send As on the shared box
MS_SHARED = "ar@acme.example"  # a shared mailbox nobody signs in to
MS_UNLICENSED = "nolicence@acme.example"
GOOGLE_ACCOUNT = "ar@acme-mail.example"
GOOGLE_ALIAS = "billing@acme-mail.example"
OTHER_MS_ACCOUNT = "someone@globex.example"


@pytest.fixture(scope="module")
def standin():
    with StandIn() as server:
        server.add_microsoft_user(MS_ACCOUNT, send_as=[MS_SHARED])
        server.add_microsoft_user(MS_UNLICENSED, licensed=False)
        server.add_microsoft_user(OTHER_MS_ACCOUNT)
        server.add_google_user(GOOGLE_ACCOUNT, aliases=[GOOGLE_ALIAS])
        yield server


@pytest.fixture
def oauth_env(standin, settings):
    """The product pointed at the stand-in; the stand-in's knobs are reset after."""
    for name, value in standin.settings().items():
        setattr(settings, name, value)
    settings.OAUTH_REDIRECT_BASE = "http://testserver"
    settings.OAUTH_HTTP_TIMEOUT = 3.0
    yield standin
    standin.wait_idle()  # a stalled request finishes inside the test that stalled it
    standin.reset()


def local(url: str) -> str:
    """The path and query of a URL on our own site, for Django's test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def start_connect(client, provider: str, **query) -> str:
    """Click Connect: the provider's authorization URL we are sent to."""
    response = client.get(f"/settings/email/oauth/{provider}/connect/", query)
    assert response.status_code == 302, response.status_code
    return response["Location"]


def connect(client, standin, provider: str, account: str):
    """Connect, Accept as `account` at the stand-in, come back: the callback's response."""
    authorize_url = start_connect(client, provider)
    return client.get(local(standin.approve(authorize_url, account=account)))
