"""The site's frame: the menu marks the current page, 403 and 404 pages use the layout
and say what to do, logging out says so, and a favicon is served."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.page_data import make_customer


@pytest.mark.parametrize(
    ("url", "current"),
    [
        ("/", "Dashboard"),
        ("/customers/", "Customers"),
        ("/communications/", "Communications"),
        ("/reports/aging/", "Aging Report"),
        ("/settings/email/outgoing/", "Settings | Email"),
        ("/settings/reminders/", "Settings | Reminders"),
    ],
)
def test_the_menu_marks_the_current_page_and_only_it(admin_client_a, url, current):
    page = admin_client_a.get(url).content.decode()
    nav = page.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    assert nav.count('aria-current="page"') == 1
    assert f'aria-current="page">{current}</a>' in nav


def test_a_statement_marks_customers_in_the_menu(collector_client_a, tenant_a):
    customer = make_customer(tenant_a, "Initech")
    page = collector_client_a.get(f"/customers/{customer.pk}/").content.decode()
    assert 'aria-current="page">Customers</a>' in page


def test_a_404_uses_the_layout_and_says_what_to_do(collector_client_a, tenant_b, settings):
    settings.DEBUG = False
    foreign = make_customer(tenant_b, "Globex")
    response = collector_client_a.get(f"/customers/{foreign.pk}/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "This page does not exist" in page
    assert "belongs to another company" in page
    assert '<nav aria-label="Main">' in page
    assert "Globex" not in page


def test_a_403_uses_the_layout_and_says_who_can_help(collector_client_a, settings):
    settings.DEBUG = False
    response = collector_client_a.get("/settings/email/outgoing/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "You cannot open this page" in page
    assert "Ask one of your admins" in page
    assert '<nav aria-label="Main">' in page


def test_logging_out_says_you_are_logged_out(admin_client_a):
    response = admin_client_a.post("/accounts/logout/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/"
    assert "You are logged out." in response.content.decode()
    # Once only.
    assert "You are logged out." not in Client().get("/accounts/login/").content.decode()


def test_every_page_links_the_favicon(admin_client_a):
    page = admin_client_a.get("/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in page
