"""Logins are NFKC-normalised and case-folded, then looked up exactly: case and width
variants are one account with one lockout counter; a look-alike is another address."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from yaypay_mail.auth import normalise_login
from yaypay_mail.services import member_add, tenant_create

LOGIN = "/accounts/login/"
FULLWIDTH_ADMIN = "ＡＤＭＩＮ＠ａｃｍｅ．ｅｘａｍｐｌｅ"
LOOKALIKE = "b-adm\u0131n@beta.test"  # dotless ı


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def beta_admin(db):
    tenant = tenant_create(
        name="Beta", admin_email="b-admin@beta.test", admin_password="beta-admin-pw-2026"
    )
    return tenant.memberships.get().user


def attempt(email: str, password: str, address: str = "198.51.100.10"):
    client = Client()
    response = client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)
    return client, response


def test_the_normal_form():
    assert normalise_login(" ADMIN@Acme.example ") == "admin@acme.example"
    assert normalise_login(FULLWIDTH_ADMIN) == "admin@acme.example"
    assert normalise_login(LOOKALIKE) == LOOKALIKE


def test_accounts_store_the_normal_form_as_username(admin_a):
    assert admin_a.username == "admin@acme.example"


@pytest.mark.parametrize("typed", ["ADMIN@Acme.example", FULLWIDTH_ADMIN])
def test_case_and_width_variants_log_in_to_the_same_account(admin_a, typed):
    client, response = attempt(typed, "acme-admin-pw-2026")
    assert response.status_code == 302
    assert client.get("/").context["user"] == admin_a


def test_a_lookalike_does_not_log_in_as_the_real_account(beta_admin):
    client, response = attempt(LOOKALIKE, "beta-admin-pw-2026")
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()
    assert client.get("/").status_code == 302  # still anonymous: sent to the login page


def test_lookalike_failures_are_their_own_counter_and_cannot_lock_the_real_account(
    beta_admin,
):
    for _ in range(5):
        attempt(LOOKALIKE, "guess")
    _, response = attempt("b-admin@beta.test", "beta-admin-pw-2026")
    assert response.status_code == 302


def test_case_and_width_variants_share_one_lockout_counter(admin_a):
    for _ in range(3):
        attempt("ADMIN@Acme.example", "wrong")
    attempt(FULLWIDTH_ADMIN, "wrong")
    _, fifth = attempt("Admin@acme.example", "wrong")
    assert fifth.status_code == 429
    _, response = attempt("admin@acme.example", "acme-admin-pw-2026")
    assert response.status_code == 429


def test_a_success_resets_that_accounts_counter_whatever_form_was_typed(admin_a):
    for _ in range(4):
        attempt("ADMIN@acme.example", "wrong")
    assert attempt(FULLWIDTH_ADMIN, "acme-admin-pw-2026")[1].status_code == 302
    for _ in range(4):
        attempt("admin@acme.example", "wrong")
    assert attempt("admin@acme.example", "acme-admin-pw-2026")[1].status_code == 302


def test_member_add_refuses_an_address_that_collides_once_normalised(admin_a, tenant_b):
    with pytest.raises(ValidationError) as error:
        member_add(tenant=tenant_b, email=FULLWIDTH_ADMIN, password="another-pw-2026", role="admin")
    assert error.value.messages == [
        f"{FULLWIDTH_ADMIN} is the same login as the existing account admin@acme.example "
        "once case and character width are normalised; use another address."
    ]


def test_the_commands_refuse_colliding_addresses_with_a_clear_message(admin_a):
    with pytest.raises(CommandError, match="same login as the existing account admin@acme"):
        call_command(
            "create_tenant",
            "Initech",
            "--admin-email",
            "ａｄｍｉｎ@acme.example",
            "--admin-password",
            "initech-pw-2026",
        )
    with pytest.raises(CommandError, match="same login as the existing account admin@acme"):
        call_command(
            "add_member",
            "Acme Corp",
            "--email",
            "ＡＤＭＩＮ@ACME.EXAMPLE",
            "--password",
            "another-pw-2026",
            "--role",
            "collector",
        )


def test_a_lookalike_is_a_different_address_to_the_commands(beta_admin):
    tenant = tenant_create(
        name="Lookalike Co", admin_email=LOOKALIKE, admin_password="lookalike-pw-2026"
    )
    assert tenant.memberships.get().user.username == LOOKALIKE


backfill = importlib.import_module("yaypay_mail.migrations.0003_normalise_usernames")


def test_the_backfill_normalises_existing_usernames(db):
    users = get_user_model().objects
    old = users.create_user("Old.Admin@Acme.example", "Old.Admin@Acme.example", "old-pw-2026")
    backfill.normalise_usernames(apps, None)
    old.refresh_from_db()
    assert old.username == "old.admin@acme.example"
    _, response = attempt("OLD.ADMIN@acme.example", "old-pw-2026")
    assert response.status_code == 302


def test_the_backfill_stops_and_names_accounts_that_collide(db):
    users = get_user_model().objects
    users.create_user("a1", "admin@acme.example", "x")
    users.create_user("a2", "ａｄｍｉｎ@acme.example", "x")
    with pytest.raises(RuntimeError, match="admin@acme.example: #\\d+ admin@acme.example, #\\d+"):
        backfill.normalise_usernames(apps, None)
