"""The test message from Settings | Email says which route carries the reminders, and
promises replies only when a From address is saved (placed here: it is the reminder
area's wording)."""

from __future__ import annotations

import pytest

from tests.smtp_fixtures import MAILBOX_LOGIN, MAILBOX_PASSWORD

URL = "/settings/email/outgoing/"


@pytest.fixture
def gateway(settings, starttls_server):
    settings.DEFAULT_GATEWAY = {
        "HOST": "localhost",
        "PORT": starttls_server.port,
        "ENCRYPTION": "tls",
        "USERNAME": MAILBOX_LOGIN,
        "PASSWORD": MAILBOX_PASSWORD,
    }
    return starttls_server


def received_text(server) -> str:
    (received,) = server.wait_for(1)
    return received.message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_through_the_gateway_without_a_from_it_promises_no_reply(admin_client_a, gateway):
    admin_client_a.post(URL, {"use_server": "gateway", "from_email": ""})
    text = received_text(gateway)
    assert "through this server" not in text
    assert "through the YayPay gateway" in text
    assert "Replies cannot reach you: save a From address to receive them." in text
    assert "reply to this email" not in text


def test_through_the_gateway_with_a_from_it_says_where_replies_go(admin_client_a, gateway):
    admin_client_a.post(URL, {"use_server": "gateway", "from_email": "ar@acme.example"})
    text = received_text(gateway)
    assert "Your customers' replies go to ar@acme.example." in text


def test_through_the_tenants_own_server_it_names_it(admin_client_a, starttls_server):
    admin_client_a.post(
        URL,
        {
            "use_server": "smtp",
            "from_email": "ar@acme.example",
            "sender_name": "Acme AR",
            "host": "localhost",
            "port": str(starttls_server.port),
            "username": MAILBOX_LOGIN,
            "password": MAILBOX_PASSWORD,
            "encryption": "tls",
        },
    )
    text = received_text(starttls_server)
    assert "from ar@acme.example through your own mail server." in text
    assert "through this server" not in text
