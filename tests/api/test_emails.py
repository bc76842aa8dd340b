"""GET /api/v1/emails: the tenant's outgoing emails, newest first, in keyset pages."""

from __future__ import annotations

import base64
import datetime

import pytest

from outbox.models import Kind, Status
from tests.page_data import AUTH_REASON, make_customer, make_email

T0 = datetime.datetime(2026, 11, 1, 9, 0, tzinfo=datetime.UTC)


def test_an_email_has_every_documented_field(api_a, tenant_a):
    acme = make_customer(tenant_a, "Acme", external_id="C-1")
    email = make_email(
        tenant_a,
        customer=acme,
        status=Status.ERROR,
        kind=Kind.REMINDER,
        subject="Invoice INV-1 overdue",
        to=("ap@acme.example",),
        cc=("cfo@acme.example",),
        created_at=T0,
    )
    response = api_a.get("/api/v1/emails")
    assert response.status_code == 200
    [item] = response.json()["items"]
    assert item == {
        "id": email.pk,
        "status": "error",
        "kind": "reminder",
        "customer_id": "C-1",
        "to": ["ap@acme.example"],
        "cc": ["cfo@acme.example"],
        "subject": "Invoice INV-1 overdue",
        "error_code": "auth_failed",
        "reason": AUTH_REASON,
        "smtp_code": 535,
        "created_at": "2026-11-01T09:00:00Z",
        "sent_at": None,
        "updated_at": item["updated_at"],
    }
    assert datetime.datetime.fromisoformat(item["updated_at"])
    assert response.json()["next_cursor"] is None


def test_filters_by_status_customer_and_since(api_a, tenant_a):
    acme = make_customer(tenant_a, "Acme", external_id="C-1")
    other = make_customer(tenant_a, "Initech", external_id="C-2")
    old = make_email(tenant_a, customer=acme, status=Status.SENT, created_at=T0)
    new = make_email(
        tenant_a, customer=acme, status=Status.SENT, created_at=T0 + datetime.timedelta(hours=1)
    )
    failed = make_email(
        tenant_a, customer=other, status=Status.ERROR, created_at=T0 + datetime.timedelta(hours=2)
    )
    no_customer = make_email(
        tenant_a, status=Status.QUEUED, created_at=T0 + datetime.timedelta(hours=3)
    )

    def ids(**params):
        response = api_a.get("/api/v1/emails", params)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [no_customer.pk, failed.pk, new.pk, old.pk]
    assert ids(status="sent") == [new.pk, old.pk]
    assert ids(customer_id="C-1") == [new.pk, old.pk]
    assert ids(customer_id="C-404") == []
    assert ids(since="2026-11-01T10:00:00Z") == [no_customer.pk, failed.pk, new.pk]
    assert ids(since="2026-11-01T10:00:00") == [no_customer.pk, failed.pk, new.pk]  # naive: UTC
    assert ids(since="2026-11-01T11:00:00+01:00") == [no_customer.pk, failed.pk, new.pk]
    assert ids(status="error", customer_id="C-2", since="2026-11-01") == [failed.pk]


def test_keyset_pages_cover_every_email_once(api_a, tenant_a):
    # Ties on created_at are broken by id, so pages neither repeat nor skip.
    emails = [
        make_email(tenant_a, created_at=T0 + datetime.timedelta(minutes=i // 3)) for i in range(23)
    ]
    expected = [e.pk for e in sorted(emails, key=lambda e: (e.created_at, e.pk), reverse=True)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        body = api_a.get("/api/v1/emails", params).json()
        pages += 1
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # An email created meanwhile (newer than every page) does not shift later pages.
        if pages == 1:
            make_email(tenant_a, created_at=T0 + datetime.timedelta(days=1))
    assert pages == 5
    assert seen == expected


def test_the_last_full_page_has_no_cursor(api_a, tenant_a):
    for i in range(4):
        make_email(tenant_a, created_at=T0 + datetime.timedelta(minutes=i))
    first = api_a.get("/api/v1/emails", {"limit": 2}).json()
    second = api_a.get("/api/v1/emails", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(second["items"]) == 2 and second["next_cursor"] is None


def test_the_default_limit_is_50(api_a, tenant_a):
    for _ in range(51):
        make_email(tenant_a, created_at=T0)
    body = api_a.get("/api/v1/emails").json()
    assert len(body["items"]) == 50 and body["next_cursor"]


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bounced"}, "status"),
        ({"status": "sent\x00"}, "status"),
        ({"customer_id": "C\x001"}, "customer_id"),
        ({"customer_id": "C" * 101}, "customer_id"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-11-01\x00"}, "since"),
        ({"since": "2026-11-01T" + "0" * 300}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "x" * 201}, "cursor"),
        ({"cursor": "a\x00b"}, "cursor"),
        ({"cursor": _cursor("[1, 2]")}, "cursor"),
        ({"cursor": _cursor('{"t": "2026-11-01T09:00:00", "id": 1}')}, "cursor"),  # naive
        ({"cursor": _cursor('{"t": "2026-11-01T09:00:00+00:00", "id": "1"}')}, "cursor"),
        ({"cursor": _cursor('{"t": "nope", "id": 1}')}, "cursor"),
        ({"cursor": _cursor('{"id": 1}')}, "cursor"),
    ],
)
def test_every_parameter_is_validated(api_a, params, field):
    response = api_a.get("/api/v1/emails", params)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert errors[0]["index"] == 0 and errors[0]["message"]


def test_limit_200_is_allowed(api_a):
    assert api_a.get("/api/v1/emails", {"limit": 200}).status_code == 200
