"""The OpenAPI document is valid, describes every endpoint, and the docs page loads
nothing from outside the site."""

from __future__ import annotations

import re

from django.test import Client
from openapi_spec_validator import validate

PATHS = {
    "/api/v1/customers/{customer_id}": {"get", "put"},
    "/api/v1/customers:bulk": {"post"},
    "/api/v1/invoices/{invoice_number}": {"get", "put"},
    "/api/v1/invoices:bulk": {"post"},
    "/api/v1/emails": {"get"},
}


def test_the_openapi_document_validates(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert {
        path: set(ops) & {"get", "put", "post"} for path, ops in document["paths"].items()
    } == PATHS
    schemes = document["components"]["securitySchemes"]
    assert [scheme["scheme"] for scheme in schemes.values()] == ["bearer"]
    put = document["paths"]["/api/v1/customers/{customer_id}"]["put"]
    assert {"200", "201", "401", "422", "429"} <= set(put["responses"])
    customer = document["components"]["schemas"]["CustomerIn"]
    assert set(customer["properties"]) == {
        "customer_id",
        "name",
        "billing_email",
        "cc_emails",
        "reminders_paused",
    }
    assert customer["additionalProperties"] is False


def test_the_docs_page_uses_only_local_assets(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert all(source.startswith("/static/") for source in sources), sources
    assert "/static/ninja/swagger-ui-bundle.js" in sources
