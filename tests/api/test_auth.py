"""/api/v1/ answers only to a tenant's active bearer token: 401 JSON otherwise (never a
login redirect), no CSRF token needed, and at most API_RATE_LIMIT requests a minute."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.test import Client

from api.tokens import token_revoke
from tests.api.conftest import ApiClient

ENDPOINTS = [
    ("get", "/api/v1/customers/C-1"),
    ("put", "/api/v1/customers/C-1"),
    ("post", "/api/v1/customers:bulk"),
    ("get", "/api/v1/invoices/INV-1"),
    ("put", "/api/v1/invoices/INV-1"),
    ("post", "/api/v1/invoices:bulk"),
    ("get", "/api/v1/emails"),
]


def _call(client: Client, method: str, path: str, **headers):
    if method == "get":
        return client.get(path, headers=headers)
    return getattr(client, method)(path, "{}", "application/json", headers=headers)


def _assert_401(response, message_part: str):
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == "Bearer"
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (0, "authorization")
    assert message_part in error["message"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_without_a_token_every_endpoint_answers_401_json(db, method, path):
    _assert_401(_call(Client(), method, path), "Authorization: Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer ypk_not-a-real-token",
        "Bearer " + "x" * 500,
        "Bearer ypk_\u00e9t\u00e9",
        "Bearer",
        "Token ypk_abc",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_a_wrong_token_or_scheme_answers_401(db, token_a, header):
    response = Client().get("/api/v1/emails", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "authorization"


def test_a_revoked_token_answers_401(token_a):
    token, raw = token_a
    assert ApiClient(raw).get("/api/v1/emails").status_code == 200
    token_revoke(token)
    _assert_401(ApiClient(raw).get("/api/v1/emails"), "not valid or was revoked")


def test_a_logged_in_session_is_not_a_token(admin_client_a):
    """The API ignores the session cookie: no token, no access, and no redirect."""
    _assert_401(admin_client_a.get("/api/v1/emails"), "Authorization: Bearer")


def test_writes_need_no_csrf_token(api_a):
    # ApiClient enforces CSRF checks like a real browser-less client would meet them.
    response = api_a.put(
        "/api/v1/customers/C-1", {"name": "Acme", "billing_email": "ap@acme.example"}
    )
    assert response.status_code == 201


def test_the_rate_limit_answers_429_with_retry_after(api_a, token_a, settings):
    settings.API_RATE_LIMIT = 3
    start = datetime.datetime(2026, 11, 26, 10, 0, 15, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            assert api_a.get("/api/v1/emails").status_code == 200
        limited = api_a.get("/api/v1/emails")
        assert limited.status_code == 429
        assert limited["Retry-After"] == "45"
        [error] = limited.json()["errors"]
        assert error["field"] == "authorization" and "3 requests a minute" in error["message"]
        # Writes count too, and refused requests do not extend the wait.
        assert api_a.put("/api/v1/customers/C-1", {"name": "X"}).status_code == 429
    with time_machine.travel(start + datetime.timedelta(seconds=44.5), tick=False):
        assert api_a.get("/api/v1/emails")["Retry-After"] == "1"
    with time_machine.travel(start + datetime.timedelta(seconds=45), tick=False):
        assert api_a.get("/api/v1/emails").status_code == 200  # a new minute


def test_the_rate_limit_is_per_token(api_a, api_b, settings):
    settings.API_RATE_LIMIT = 1
    with time_machine.travel(
        datetime.datetime(2026, 11, 26, 10, 0, tzinfo=datetime.UTC), tick=False
    ):
        assert api_a.get("/api/v1/emails").status_code == 200
        assert api_a.get("/api/v1/emails").status_code == 429
        assert api_b.get("/api/v1/emails").status_code == 200


def test_the_openapi_document_and_docs_need_no_token(db):
    assert Client().get("/api/v1/openapi.json").status_code == 200
    assert Client().get("/api/v1/docs").status_code == 200


def test_every_api_view_is_exempt_from_the_login_and_from_csrf():
    from django.urls import get_resolver

    from tests.accounts.test_login_exemptions import walk

    api_views = [
        (route, view)
        for route, _, view in walk(get_resolver().url_patterns)
        if route.startswith("api/v1/")
    ]
    assert len(api_views) >= 6
    assert all(getattr(view, "login_required", True) is False for _, view in api_views)
    operations = [
        view for route, view in api_views if not route.endswith(("openapi.json", "docs", "v1/"))
    ]
    assert all(getattr(view, "csrf_exempt", False) for view in operations)
