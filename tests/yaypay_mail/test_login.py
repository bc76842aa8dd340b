"""Logging in with an email address, logging out, and the login limits: axes locks an
(account, client address) pair after five failures; an address is refused after
LOGIN_IP_FAILURE_LIMIT failures across accounts; an account alone is never locked."""

from __future__ import annotations

import pytest
from django.test import Client

from yaypay_mail.proxies import ipware_settings

LOGIN = "/accounts/login/"
LOCKED = "Too many login attempts"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """Hundreds of password checks here; the hasher's cost is not what is tested."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def attempt(client: Client, email: str, password: str, address: str = "198.51.100.10", **meta):
    return client.post(
        LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address, **meta
    )


def test_a_member_logs_in_with_the_email_address_in_any_case(admin_a):
    client = Client()
    response = attempt(client, "ADMIN@acme.example", "acme-admin-pw-2026")
    assert response.status_code == 302 and response.url == "/"
    assert "Acme Corp" in client.get("/").content.decode()


def test_a_wrong_password_is_refused_with_a_message(admin_a):
    response = attempt(Client(), "admin@acme.example", "nope")
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_five_failures_lock_that_account_from_that_address_only(admin_a):
    for _ in range(4):
        assert attempt(Client(), "admin@acme.example", "wrong").status_code == 200
    fifth = attempt(Client(), "admin@acme.example", "wrong")
    assert fifth.status_code == 429 and LOCKED in fifth.content.decode()
    locked = attempt(Client(), "admin@acme.example", "acme-admin-pw-2026")
    assert locked.status_code == 429
    elsewhere = attempt(Client(), "admin@acme.example", "acme-admin-pw-2026", address="203.0.113.9")
    assert elsewhere.status_code == 302


def test_failures_from_other_addresses_do_not_lock_the_user_out_of_their_own(admin_a):
    for number in range(5):
        attempt(Client(), "admin@acme.example", "wrong", address=f"198.51.100.{number + 1}")
    response = attempt(Client(), "admin@acme.example", "acme-admin-pw-2026", address="203.0.113.50")
    assert response.status_code == 302


def test_a_success_with_ones_own_account_does_not_reset_guesses_at_another(admin_a, admin_b):
    # The reproduction: 4 wrong passwords for tenant B's admin, then a correct login
    # as one's own account (tenant A's admin), from the same address; repeated 6 times.
    guesses = []
    for _round in range(6):
        for _ in range(4):
            guesses.append(attempt(Client(), "admin@globex.example", "guess").status_code)
        assert attempt(Client(), "admin@acme.example", "acme-admin-pw-2026").status_code == 302
    assert guesses[:4] == [200] * 4
    assert guesses[4:] == [429] * 20  # the fifth guess is refused, and every one after it
    assert attempt(Client(), "admin@globex.example", "globex-admin-pw-2026").status_code == 429
    # B's admin still logs in from their own address.
    own = attempt(Client(), "admin@globex.example", "globex-admin-pw-2026", address="203.0.113.20")
    assert own.status_code == 302


def test_the_per_address_limit_defaults_to_fifty():
    from django.conf import settings

    assert settings.LOGIN_IP_FAILURE_LIMIT == 50


def test_an_address_is_refused_after_the_per_address_limit_across_accounts(
    admin_a, admin_b, settings
):
    settings.LOGIN_IP_FAILURE_LIMIT = 12
    for number in range(11):
        response = attempt(
            Client(), f"nobody{number}@acme.example", "wrong", address="198.51.100.77"
        )
        assert response.status_code == 200
    assert (
        attempt(Client(), "admin@globex.example", "globex-admin-pw-2026", address="198.51.100.77")
    ).status_code == 302  # 11 failures: still admitted; a success does not reset the count
    attempt(Client(), "nobody11@acme.example", "wrong", address="198.51.100.77")
    response = attempt(
        Client(), "admin@globex.example", "globex-admin-pw-2026", address="198.51.100.77"
    )
    assert response.status_code == 429 and LOCKED in response.content.decode()
    ok = attempt(Client(), "admin@globex.example", "globex-admin-pw-2026", address="198.51.100.78")
    assert ok.status_code == 302


def test_the_per_address_limit_also_guards_the_admin_login(db, settings):
    settings.LOGIN_IP_FAILURE_LIMIT = 2
    for number in range(2):
        attempt(Client(), f"nobody{number}@acme.example", "wrong", address="198.51.100.90")
    response = Client().post(
        "/admin/login/",
        {"username": "ops@acme.example", "password": "x"},
        REMOTE_ADDR="198.51.100.90",
    )
    assert response.status_code == 429


def test_without_trusted_proxies_x_forwarded_for_is_ignored(admin_a):
    for number in range(5):
        attempt(
            Client(),
            "admin@acme.example",
            "wrong",
            address="198.51.100.10",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{number + 1}",
        )
    response = attempt(
        Client(),
        "admin@acme.example",
        "acme-admin-pw-2026",
        address="198.51.100.10",
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert response.status_code == 429


@pytest.fixture
def behind_one_proxy(settings):
    """TRUSTED_PROXY_COUNT=1: a load balancer at 10.0.0.5 appends the client's address."""
    for name, value in ipware_settings(1).items():
        setattr(settings, name, value)
    return settings


def via_balancer(email: str, password: str, client_address: str, spoofed: str = ""):
    forwarded = f"{spoofed}, {client_address}" if spoofed else client_address
    return attempt(Client(), email, password, address="10.0.0.5", HTTP_X_FORWARDED_FOR=forwarded)


def test_behind_a_proxy_each_client_has_its_own_lockout(admin_a, behind_one_proxy):
    for number in range(5):
        # Whatever the client itself puts in X-Forwarded-For does not change its address.
        via_balancer("admin@acme.example", "wrong", "203.0.113.7", spoofed=f"192.0.2.{number}")
    assert (
        via_balancer("admin@acme.example", "acme-admin-pw-2026", "203.0.113.7").status_code == 429
    )
    # Another client behind the same balancer is not locked out.
    assert (
        via_balancer("admin@acme.example", "acme-admin-pw-2026", "203.0.113.8").status_code == 302
    )


def test_behind_a_proxy_the_per_address_limit_counts_the_client(admin_a, behind_one_proxy):
    behind_one_proxy.LOGIN_IP_FAILURE_LIMIT = 3
    for number in range(3):
        via_balancer(f"nobody{number}@acme.example", "wrong", "203.0.113.7", spoofed="192.0.2.1")
    assert (
        via_balancer("admin@acme.example", "acme-admin-pw-2026", "203.0.113.7").status_code == 429
    )
    assert (
        via_balancer("admin@acme.example", "acme-admin-pw-2026", "203.0.113.8").status_code == 302
    )


def test_logout_is_a_post(admin_client_a):
    assert admin_client_a.get("/accounts/logout/").status_code == 405
    response = admin_client_a.post("/accounts/logout/")
    assert response.status_code == 302
    assert admin_client_a.get("/").status_code == 302


def test_the_login_page_links_to_the_password_reset(db):
    page = Client().get(LOGIN).content.decode()
    assert '<a href="/accounts/password_reset/">Forgot your password?</a>' in page


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


def test_an_ipv6_client_is_counted_by_its_64_not_each_address(admin_a, settings):
    settings.LOGIN_IP_FAILURE_LIMIT = 5
    for number in range(5):
        attempt(
            Client(), f"nobody{number}@acme.example", "wrong", address=f"2001:db8:1:2::{number + 1}"
        )
    other = attempt(
        Client(), "admin@acme.example", "acme-admin-pw-2026", address="2001:db8:1:2::99"
    )
    assert other.status_code == 429  # the same /64
    elsewhere = attempt(
        Client(), "admin@acme.example", "acme-admin-pw-2026", address="2001:db8:1:3::1"
    )
    assert elsewhere.status_code == 302
