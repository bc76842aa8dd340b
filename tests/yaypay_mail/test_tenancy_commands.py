"""create_tenant, add_member and seed_demo, as the contract names them."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from yaypay_mail.models import Membership, Tenant


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_tenant_makes_the_tenant_and_its_admin(db):
    out = run(
        "create_tenant",
        "Initech",
        "--admin-email",
        "Boss@Initech.example",
        "--admin-password",
        "initech-pw-2026",
    )
    assert "Created tenant 'Initech'" in out
    membership = Membership.objects.get(user__email="boss@initech.example")
    assert membership.tenant.name == "Initech" and membership.role == "admin"


def test_create_tenant_refuses_a_duplicate_name(tenant_a):
    with pytest.raises(CommandError, match="already exists"):
        run(
            "create_tenant",
            "acme corp",
            "--admin-email",
            "x@acme.example",
            "--admin-password",
            "another-pw-2026",
        )


def test_add_member_adds_a_collector(tenant_a):
    run(
        "add_member",
        "Acme Corp",
        "--email",
        "c2@acme.example",
        "--password",
        "collector-pw-2026",
        "--role",
        "collector",
    )
    assert Membership.objects.get(user__email="c2@acme.example").role == "collector"


def test_add_member_refuses_a_user_of_another_tenant(tenant_a, admin_b):
    with pytest.raises(CommandError, match="belongs to one tenant"):
        run(
            "add_member",
            "Acme Corp",
            "--email",
            "admin@globex.example",
            "--password",
            "whatever-pw-2026",
            "--role",
            "admin",
        )


def test_add_member_refuses_a_weak_password_and_an_unknown_tenant(tenant_a):
    with pytest.raises(CommandError, match="too short"):
        run(
            "add_member",
            "Acme Corp",
            "--email",
            "c3@acme.example",
            "--password",
            "abc",
            "--role",
            "collector",
        )
    with pytest.raises(CommandError, match="No tenant named"):
        run(
            "add_member",
            "Nope Inc",
            "--email",
            "c3@acme.example",
            "--password",
            "collector-pw-2026",
            "--role",
            "collector",
        )


def test_seed_demo_is_safe_to_run_again_and_prints_its_logins(db):
    first = run("seed_demo")
    second = run("seed_demo")
    assert Tenant.objects.filter(name="Demo Co").count() == 1
    assert Membership.objects.filter(tenant__name="Demo Co").count() == 2
    assert "admin@demo.example" in second and "collector@demo.example" in first
