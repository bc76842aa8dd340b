"""Connecting a Microsoft 365 or Google mailbox: the authorization code flow with PKCE
against the local provider stand-in, and every way a callback can be wrong."""

from __future__ import annotations

import re
import time

import pytest

from routes import secrets
from routes.models import OAuthConnection
from settings_app.models import SettingsAuditEntry
from settings_app.oauth_flow import SESSION_KEY
from tests.oauth_fixtures import (
    GOOGLE_ACCOUNT,
    MS_ACCOUNT,
    connect,
    local,
    start_connect,
)
from tests.oauth_standin import oauth_error

PAGE = "/settings/email/outgoing/"


def connections(tenant):
    return list(OAuthConnection.objects.filter(tenant=tenant))


@pytest.mark.parametrize(
    ("provider", "account", "label"),
    [("microsoft", MS_ACCOUNT, "Microsoft 365"), ("google", GOOGLE_ACCOUNT, "Google")],
)
def test_an_admin_connects_a_mailbox_and_the_page_shows_it(
    admin_client_a, tenant_a, oauth_env, provider, account, label
):
    response = connect(admin_client_a, oauth_env, provider, account)
    assert response.status_code == 302 and response["Location"] == PAGE
    page = admin_client_a.get(PAGE).content.decode()
    assert f"Connected {account} ({label})" in page
    assert f'<span class="connected-account">{account}</span>' in page
    # The page is ready for the third click: the provider is preselected.
    assert re.search(rf'value="{provider}" id="id_use_server_\d" required checked', page)

    (stored,) = connections(tenant_a)
    assert (stored.provider, stored.account_email) == (provider, account)
    # Tokens only encrypted, and never on the page.
    refresh_token = secrets.decrypt(stored.refresh_token_encrypted)
    access_token = secrets.decrypt(stored.access_token_encrypted)
    assert refresh_token not in stored.refresh_token_encrypted
    assert refresh_token not in page and access_token not in page
    assert SettingsAuditEntry.objects.filter(tenant=tenant_a, action="connected").count() == 1
    assert f"Mailbox connected: {label} {account}" in page


def test_the_flow_uses_pkce_s256_and_a_state(admin_client_a, oauth_env):
    url = start_connect(admin_client_a, "microsoft")
    assert url.startswith(oauth_env.base_url + "/ms-login/")
    assert "code_challenge_method=S256" in url and "code_challenge=" in url and "state=" in url
    assert "Mail.Send" in url and "offline_access" in url
    connect_back = oauth_env.approve(url, account=MS_ACCOUNT)
    admin_client_a.get(local(connect_back))
    token_requests = [r for r in oauth_env.requests if r.path.endswith("/oauth2/v2.0/token")]
    assert token_requests and "code_verifier" in token_requests[0].keys


def test_google_asks_for_the_send_scope_and_offline_access(admin_client_a, oauth_env):
    url = start_connect(admin_client_a, "google")
    assert "gmail.send" in url and "access_type=offline" in url and "openid" in url


def test_a_replayed_callback_is_refused_and_changes_nothing(admin_client_a, tenant_a, oauth_env):
    url = start_connect(admin_client_a, "microsoft")
    callback = local(oauth_env.approve(url, account=MS_ACCOUNT))
    admin_client_a.get(callback)
    before = connections(tenant_a)[0]

    response = admin_client_a.get(callback)  # the same code and state again
    assert response["Location"] == PAGE
    page = admin_client_a.get(PAGE).content.decode()
    assert "The mailbox was not connected." in page
    assert "already used" in page
    after = connections(tenant_a)[0]
    assert after.refresh_token_encrypted == before.refresh_token_encrypted


def test_a_wrong_state_is_refused(admin_client_a, tenant_a, oauth_env):
    url = start_connect(admin_client_a, "microsoft")
    callback = local(oauth_env.approve(url, account=MS_ACCOUNT))
    forged = callback.replace("state=", "state=forged")
    admin_client_a.get(forged)
    assert connections(tenant_a) == []
    assert "not one this browser started" in admin_client_a.get(PAGE).content.decode()


def test_a_callback_without_state_is_refused(admin_client_a, tenant_a, oauth_env):
    start_connect(admin_client_a, "microsoft")
    admin_client_a.get("/settings/email/oauth/microsoft/callback/", {"code": "abc"})
    assert connections(tenant_a) == []
    assert "The mailbox was not connected." in admin_client_a.get(PAGE).content.decode()


def test_access_denied_at_the_provider_says_so(admin_client_a, tenant_a, oauth_env):
    url = start_connect(admin_client_a, "google")
    admin_client_a.get(local(oauth_env.deny(url)))
    assert connections(tenant_a) == []
    page = admin_client_a.get(PAGE).content.decode()
    assert "Access was not granted at Google (access_denied)" in page


def test_coming_back_at_the_other_providers_callback_is_refused(
    admin_client_a, tenant_a, oauth_env
):
    url = start_connect(admin_client_a, "google")
    callback = local(oauth_env.approve(url, account=GOOGLE_ACCOUNT))
    admin_client_a.get(callback.replace("/oauth/google/", "/oauth/microsoft/"))
    assert connections(tenant_a) == []
    assert "different provider" in admin_client_a.get(PAGE).content.decode()


def test_an_id_token_for_another_app_is_refused(admin_client_a, tenant_a, oauth_env):
    import base64
    import json

    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    foreign = ".".join(
        [
            part({"alg": "RS256"}),
            part(
                {
                    "iss": "https://login.example",
                    "aud": "another-app",
                    "email": "x@evil.example",
                    "email_verified": True,
                }
            ),
            "sig",
        ]
    )
    oauth_env.fail_next(
        "google_token",
        200,
        body={
            "access_token": "a",
            "refresh_token": "r",
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": "https://www.googleapis.com/auth/gmail.send openid email",
            "id_token": foreign,
        },
    )
    connect(admin_client_a, oauth_env, "google", GOOGLE_ACCOUNT)
    assert connections(tenant_a) == []
    assert "not a Google account for YayPay" in admin_client_a.get(PAGE).content.decode()


def test_a_grant_without_the_send_permission_is_refused(admin_client_a, tenant_a, oauth_env):
    oauth_env.fail_next(
        "ms_token",
        200,
        body={
            "access_token": "a",
            "refresh_token": "r",
            "expires_in": 3599,
            "token_type": "Bearer",
            "scope": "https://graph.microsoft.com/User.Read",
        },
    )
    connect(admin_client_a, oauth_env, "microsoft", MS_ACCOUNT)
    assert connections(tenant_a) == []
    assert "did not allow YayPay to send email" in admin_client_a.get(PAGE).content.decode()


def test_a_refused_code_exchange_shows_the_providers_code(admin_client_a, tenant_a, oauth_env):
    oauth_env.fail_next(
        "ms_token", 400, body=oauth_error("invalid_grant", "AADSTS54005: code already redeemed")
    )
    connect(admin_client_a, oauth_env, "microsoft", MS_ACCOUNT)
    assert connections(tenant_a) == []
    assert "invalid_grant, AADSTS54005" in admin_client_a.get(PAGE).content.decode()


def test_tenant_b_cannot_complete_a_flow_tenant_a_started(
    admin_client_a, admin_client_b, tenant_a, tenant_b, oauth_env
):
    url = start_connect(admin_client_a, "microsoft")
    callback = local(oauth_env.approve(url, account=MS_ACCOUNT))
    admin_client_b.get(callback)  # B's browser has no such flow
    assert connections(tenant_b) == [] and connections(tenant_a) == []
    assert "The mailbox was not connected." in admin_client_b.get(PAGE).content.decode()
    # A can still finish its own.
    admin_client_a.get(callback)
    assert [c.account_email for c in connections(tenant_a)] == [MS_ACCOUNT]


def test_a_flow_started_for_another_company_is_refused(
    admin_client_a, admin_client_b, tenant_a, tenant_b, oauth_env
):
    url = start_connect(admin_client_a, "microsoft")
    callback = local(oauth_env.approve(url, account=MS_ACCOUNT))
    # Even holding A's whole flow (state, verifier) in its session, B cannot finish it.
    session = admin_client_b.session
    session[SESSION_KEY] = admin_client_a.session[SESSION_KEY]
    session.save()
    admin_client_b.get(callback)
    assert connections(tenant_b) == [] and connections(tenant_a) == []
    assert "started for another company or user" in admin_client_b.get(PAGE).content.decode()


def test_a_sign_in_left_too_long_at_the_provider_is_refused(admin_client_a, tenant_a, oauth_env):
    url = start_connect(admin_client_a, "microsoft")
    callback = local(oauth_env.approve(url, account=MS_ACCOUNT))
    session = admin_client_a.session
    session[SESSION_KEY] = {**session[SESSION_KEY], "started": time.time() - 601}
    session.save()
    admin_client_a.get(callback)
    assert connections(tenant_a) == []
    assert "took longer than 10 minutes" in admin_client_a.get(PAGE).content.decode()


def test_collectors_cannot_connect_or_disconnect(collector_client_a, oauth_env):
    assert collector_client_a.get("/settings/email/oauth/microsoft/connect/").status_code == 403
    assert collector_client_a.get("/settings/email/oauth/microsoft/callback/").status_code == 403
    response = collector_client_a.post("/settings/email/oauth/microsoft/disconnect/")
    assert response.status_code == 403


def test_a_provider_the_operator_did_not_configure_is_not_offered(
    admin_client_a, oauth_env, settings
):
    settings.GOOGLE_CLIENT_ID = ""
    assert admin_client_a.get("/settings/email/oauth/google/connect/").status_code == 404
    assert admin_client_a.get("/settings/email/oauth/yahoo/connect/").status_code == 404
    page = admin_client_a.get(PAGE).content.decode()
    assert 'name="use_server" value="google"' not in page and "Connect Google" not in page
    assert 'name="use_server" value="microsoft"' in page and "Connect Microsoft 365" in page
    # The SMTP presets point to connecting the mailbox only where that is offered.
    assert "choose <em>Microsoft 365</em> above and connect" in page
    assert "choose <em>Google</em> above and connect" not in page


def test_microsoft_admin_consent_link_comes_back_with_a_next_step(
    admin_client_a, oauth_env, settings
):
    settings.MICROSOFT_TENANT = "common"  # the default, which the consent endpoint refuses
    url = start_connect(admin_client_a, "microsoft", admin_consent="1")
    assert "/organizations/v2.0/adminconsent?" in url
    admin_client_a.get(local(oauth_env.approve_admin_consent(url)))
    page = admin_client_a.get(PAGE).content.decode()
    assert "administrator approved YayPay" in page


def test_disconnect_revokes_at_google_and_deletes(admin_client_a, tenant_a, oauth_env):
    connect(admin_client_a, oauth_env, "google", GOOGLE_ACCOUNT)
    refresh_token = secrets.decrypt(connections(tenant_a)[0].refresh_token_encrypted)
    response = admin_client_a.post("/settings/email/oauth/google/disconnect/")
    assert response["Location"] == PAGE
    assert connections(tenant_a) == []
    assert refresh_token in oauth_env.revoked
    assert "Google revoked YayPay&#x27;s access." in admin_client_a.get(PAGE).content.decode()


def test_disconnect_at_microsoft_deletes_and_says_how_to_end_it_there(
    admin_client_a, tenant_a, oauth_env
):
    connect(admin_client_a, oauth_env, "microsoft", MS_ACCOUNT)
    admin_client_a.post("/settings/email/oauth/microsoft/disconnect/")
    assert connections(tenant_a) == []
    assert oauth_env.revoked == []
    assert "myapps.microsoft.com" in admin_client_a.get(PAGE).content.decode()


def test_disconnect_keeps_a_google_grant_another_company_still_uses(
    admin_client_a, admin_client_b, tenant_a, tenant_b, oauth_env
):
    connect(admin_client_a, oauth_env, "google", GOOGLE_ACCOUNT)
    connect(admin_client_b, oauth_env, "google", GOOGLE_ACCOUNT)
    admin_client_a.post("/settings/email/oauth/google/disconnect/")
    assert connections(tenant_a) == [] and len(connections(tenant_b)) == 1
    assert oauth_env.revoked == []
    assert "Another YayPay company still uses" in admin_client_a.get(PAGE).content.decode()


def test_connecting_a_different_google_account_revokes_the_replaced_one(
    admin_client_a, tenant_a, oauth_env
):
    oauth_env.add_google_user("second@acme-mail.example")
    connect(admin_client_a, oauth_env, "google", GOOGLE_ACCOUNT)
    old_token = secrets.decrypt(connections(tenant_a)[0].refresh_token_encrypted)
    connect(admin_client_a, oauth_env, "google", GOOGLE_ACCOUNT)  # the same account again
    assert oauth_env.revoked == []
    same_account_token = secrets.decrypt(connections(tenant_a)[0].refresh_token_encrypted)
    connect(admin_client_a, oauth_env, "google", "second@acme-mail.example")
    assert oauth_env.revoked == [same_account_token] and old_token not in oauth_env.revoked
    assert [c.account_email for c in connections(tenant_a)] == ["second@acme-mail.example"]


def test_disconnect_is_post_only(admin_client_a, oauth_env):
    assert admin_client_a.get("/settings/email/oauth/google/disconnect/").status_code == 405


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_without_a_redirect_base_the_callback_is_on_site_url_not_the_requests_host(
    admin_a, oauth_env, settings, provider
):
    from urllib.parse import parse_qs, urlsplit

    from django.test import Client

    settings.OAUTH_REDIRECT_BASE = ""
    settings.SITE_URL = "https://mail.yaypay.example"
    settings.ALLOWED_HOSTS = ["mail.yaypay.example"]  # the port is not checked
    client = Client(HTTP_HOST="mail.yaypay.example:31337")
    client.force_login(admin_a, backend="yaypay_mail.auth.EmailBackend")
    url = start_connect(client, provider)
    (redirect_uri,) = parse_qs(urlsplit(url).query)["redirect_uri"]
    assert redirect_uri == (
        f"https://mail.yaypay.example/settings/email/oauth/{provider}/callback/"
    )
