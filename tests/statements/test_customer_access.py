"""Every Customers URL is scoped by tenant: another tenant's id answers 404 and changes
nothing; an anonymous visitor is sent to the login."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.page_data import make_customer
from yaypay_mail.models import CustomerChange


@pytest.fixture
def initech(tenant_a):
    return make_customer(tenant_a, "Initech", billing_email="ap@initech.example")


def test_another_tenants_list_does_not_show_this_tenants_customers(admin_client_b, initech):
    response = admin_client_b.get("/customers/", {"q": "initech"})
    assert response.status_code == 200
    assert "Initech" not in response.content.decode()
    assert response.context["page"].rows == []


@pytest.mark.parametrize("suffix", ["", "edit/"])
def test_another_tenant_gets_404_on_pages(admin_client_b, initech, suffix):
    assert admin_client_b.get(f"/customers/{initech.pk}/{suffix}").status_code == 404


@pytest.mark.parametrize(
    "suffix,data",
    [
        ("edit/", {"billing_email": "evil@globex.example"}),
        ("pause/", {"reason": "hijacked"}),
        ("unpause/", {}),
    ],
)
def test_another_tenant_gets_404_on_writes_and_nothing_changes(
    admin_client_b, initech, suffix, data
):
    initech.reminders_paused = suffix == "unpause/"
    initech.save()
    assert admin_client_b.post(f"/customers/{initech.pk}/{suffix}", data).status_code == 404
    initech.refresh_from_db()
    assert initech.billing_email == "ap@initech.example"
    assert initech.reminders_paused is (suffix == "unpause/")
    assert not CustomerChange.objects.exists()


@pytest.mark.parametrize("suffix", ["", "0/", "0/edit/"])
def test_an_anonymous_visitor_is_sent_to_the_login(initech, suffix):
    url = f"/customers/{suffix.replace('0', str(initech.pk))}"
    response = Client().get(url)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("suffix", ["pause/", "unpause/", "edit/"])
def test_an_anonymous_post_is_sent_to_the_login_and_changes_nothing(initech, suffix):
    response = Client().post(f"/customers/{initech.pk}/{suffix}", {"reason": "x"})
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    initech.refresh_from_db()
    assert initech.reminders_paused is False
    assert not CustomerChange.objects.exists()
