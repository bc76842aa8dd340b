"""API clients: a token of tenant A and one of tenant B, each behind a test client that
sends it as a bearer token, as an ERP would."""

from __future__ import annotations

import json

import pytest
from django.test import Client


class ApiClient:
    def __init__(self, raw_token: str | None):
        # CSRF checks on, as for any client without a session: the API must not need them.
        self.client = Client(enforce_csrf_checks=True)
        self.headers = {"Authorization": f"Bearer {raw_token}"} if raw_token else {}

    def get(self, path: str, params: dict | None = None, **headers):
        return self.client.get(path, params or {}, headers={**self.headers, **headers})

    def put(self, path: str, body, **headers):
        return self.client.put(
            path, _dumped(body), "application/json", headers={**self.headers, **headers}
        )

    def post(self, path: str, body, **headers):
        return self.client.post(
            path, _dumped(body), "application/json", headers={**self.headers, **headers}
        )


def _dumped(body) -> str:
    return body if isinstance(body, str) else json.dumps(body)


@pytest.fixture
def token_a(tenant_a, admin_a):
    from api.tokens import token_create

    return token_create(tenant=tenant_a, name="ERP sync", created_by=admin_a)


@pytest.fixture
def token_b(tenant_b, admin_b):
    from api.tokens import token_create

    return token_create(tenant=tenant_b, name="Globex ERP", created_by=admin_b)


@pytest.fixture
def api_a(token_a) -> ApiClient:
    return ApiClient(token_a[1])


@pytest.fixture
def api_b(token_b) -> ApiClient:
    return ApiClient(token_b[1])


@pytest.fixture
def anonymous() -> ApiClient:
    return ApiClient(None)
