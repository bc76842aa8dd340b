"""Settings | API tokens: admins create a token (shown once, stored hashed) and revoke it."""

from __future__ import annotations

import hashlib
import re

from api.models import ApiToken
from api.tokens import token_create
from tests.api.conftest import ApiClient

URL = "/settings/api-tokens/"


def _created_token(response) -> str:
    match = re.search(r'id="new-token-value">([^<]+)<', response.content.decode())
    assert match, "the new token is on the page"
    return match.group(1)


def test_an_admin_creates_a_token_sees_it_once_and_revokes_it(admin_client_a, tenant_a, admin_a):
    response = admin_client_a.post(URL, {"name": "NetSuite nightly"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = _created_token(response)
    assert raw.startswith("ypk_") and len(raw) >= 40

    token = ApiToken.objects.get(tenant=tenant_a)
    assert (token.name, token.created_by, token.revoked_at) == ("NetSuite nightly", admin_a, None)
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:12]
    assert raw not in {token.name, token.prefix, token.token_hash}

    # The token opens the API, and the list records its use.
    assert ApiClient(raw).get("/api/v1/emails").status_code == 200
    page = admin_client_a.get(URL).content.decode()
    assert raw not in page  # never shown again
    assert f"{token.prefix}…" in page
    assert "NetSuite nightly" in page
    token.refresh_from_db()
    assert token.last_used_at is not None

    response = admin_client_a.post(f"{URL}{token.pk}/revoke/")
    assert response.status_code == 302 and response["Location"] == URL
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Revoked" in admin_client_a.get(URL).content.decode()
    revoked = ApiClient(raw).get("/api/v1/emails")
    assert revoked.status_code == 401
    assert revoked.json()["errors"][0]["field"] == "authorization"


def test_a_name_is_required(admin_client_a, tenant_a):
    response = admin_client_a.post(URL, {"name": "  "})
    assert response.status_code == 400
    assert 'id="new-token-value"' not in response.content.decode()
    assert not ApiToken.objects.filter(tenant=tenant_a).exists()


def test_collectors_may_not_see_or_manage_tokens(collector_client_a, tenant_a, admin_a):
    token, _ = token_create(tenant=tenant_a, name="ERP", created_by=admin_a)
    assert collector_client_a.get(URL).status_code == 403
    assert collector_client_a.post(URL, {"name": "mine"}).status_code == 403
    assert collector_client_a.post(f"{URL}{token.pk}/revoke/").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None
    assert ApiToken.objects.filter(tenant=tenant_a).count() == 1


def test_another_tenants_token_is_not_found(admin_client_a, tenant_b, admin_b):
    theirs, _ = token_create(tenant=tenant_b, name="Globex ERP", created_by=admin_b)
    assert admin_client_a.post(f"{URL}{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert "Globex ERP" not in admin_client_a.get(URL).content.decode()


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
