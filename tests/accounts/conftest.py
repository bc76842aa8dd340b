from __future__ import annotations

import pytest

from tests.smtp_fixtures import MAILBOX_LOGIN, MAILBOX_PASSWORD


@pytest.fixture(autouse=True)
def _eager(eager_tasks):
    """The reset mail is sent by a task; these tests read that mail."""


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """Many password checks; the hasher's cost is not what is tested."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def gateway(smtp_server_factory, settings):
    """The platform gateway: a real STARTTLS + AUTH server that the product trusts."""
    server = smtp_server_factory(mode="starttls")
    settings.DEFAULT_GATEWAY = {
        "HOST": "localhost",
        "PORT": server.port,
        "ENCRYPTION": "tls",
        "USERNAME": MAILBOX_LOGIN,
        "PASSWORD": MAILBOX_PASSWORD,
    }
    return server
