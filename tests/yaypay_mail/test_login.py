"""Logging in with an email address, logging out, and the per-account and per-address limits."""

from __future__ import annotations

import pytest
from django.test import Client

LOGIN = "/accounts/login/"


def attempt(client: Client, email: str, password: str, address: str = "198.51.100.10"):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)


def test_a_member_logs_in_with_the_email_address_in_any_case(admin_a):
    client = Client()
    response = attempt(client, "ADMIN@acme.example", "acme-admin-pw-2026")
    assert response.status_code == 302 and response.url == "/"
    assert "Acme Corp" in client.get("/").content.decode()


def test_a_wrong_password_is_refused_with_a_message(admin_a):
    response = attempt(Client(), "admin@acme.example", "nope")
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_an_account_is_locked_after_five_failures_even_from_other_addresses(admin_a):
    for number in range(5):
        attempt(Client(), "admin@acme.example", "wrong", address=f"198.51.100.{number + 1}")
    response = attempt(Client(), "admin@acme.example", "acme-admin-pw-2026", address="203.0.113.50")
    assert response.status_code == 429
    assert "Too many login attempts" in response.content.decode()


def test_an_address_is_locked_after_five_failures_across_accounts(admin_a, admin_b):
    for number in range(5):
        attempt(Client(), f"nobody{number}@acme.example", "wrong", address="198.51.100.77")
    response = attempt(
        Client(), "admin@globex.example", "globex-admin-pw-2026", address="198.51.100.77"
    )
    assert response.status_code == 429
    ok = attempt(Client(), "admin@globex.example", "globex-admin-pw-2026", address="198.51.100.78")
    assert ok.status_code == 302


def test_logout_is_a_post(admin_client_a):
    assert admin_client_a.get("/accounts/logout/").status_code == 405
    response = admin_client_a.post("/accounts/logout/")
    assert response.status_code == 302
    assert admin_client_a.get("/").status_code == 302


@pytest.mark.parametrize("url", ["/", "/settings/email/outgoing/"])
def test_anonymous_requests_redirect_to_the_login(db, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next={url}"


def test_a_user_outside_any_tenant_gets_403_on_tenant_pages(django_user_model):
    operator = django_user_model.objects.create_user(
        "ops@yaypay.example", "ops@yaypay.example", "x"
    )
    client = Client()
    client.force_login(operator, backend="yaypay_mail.auth.EmailBackend")
    assert client.get("/").status_code == 403
    assert client.get("/settings/email/outgoing/").status_code == 403
