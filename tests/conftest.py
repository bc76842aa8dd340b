"""The shared cast: an admin and a collector of tenant A, an admin of tenant B."""

from __future__ import annotations

import os
import socket

import pytest

# Playwright's sync API runs an event loop beside Django's live_server.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = ["tests.smtp_fixtures", "tests.oauth_fixtures"]


@pytest.fixture(scope="session")
def refused_port():
    """A loopback port this session owns and never listens on: a connect to it is
    refused at once, and nothing else (`make run`, another test run) can take it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _gateway_nowhere(settings, refused_port):
    """Every test starts with the platform gateway on `refused_port`, not on the
    development default 127.0.0.1:1025, where `make run`'s catcher may be listening (a
    test run beside it would deliver there). A test that reads gateway mail points the
    gateway at its own server (the `gateway` fixture)."""
    settings.DEFAULT_GATEWAY = {
        "HOST": "127.0.0.1",
        "PORT": refused_port,
        "ENCRYPTION": "none",
        "USERNAME": "",
        "PASSWORD": "",
    }


@pytest.fixture
def tenant_a(db):
    from yaypay_mail.services import tenant_create

    return tenant_create(
        name="Acme Corp", admin_email="admin@acme.example", admin_password="acme-admin-pw-2026"
    )


@pytest.fixture
def admin_a(tenant_a):
    return tenant_a.memberships.get(role="admin").user


@pytest.fixture
def collector_a(tenant_a):
    from yaypay_mail.services import member_add

    return member_add(
        tenant=tenant_a,
        email="collector@acme.example",
        password="acme-collector-pw-2026",
        role="collector",
    ).user


@pytest.fixture
def tenant_b(db):
    from yaypay_mail.services import tenant_create

    return tenant_create(
        name="Globex", admin_email="admin@globex.example", admin_password="globex-admin-pw-2026"
    )


@pytest.fixture
def admin_b(tenant_b):
    return tenant_b.memberships.get(role="admin").user


def _client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user, backend="yaypay_mail.auth.EmailBackend")
    return client


@pytest.fixture
def admin_client_a(admin_a):
    return _client_for(admin_a)


@pytest.fixture
def collector_client_a(collector_a):
    return _client_for(collector_a)


@pytest.fixture
def admin_client_b(admin_b):
    return _client_for(admin_b)


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in the test's process even where CI configures a broker: for tests
    that read what a task sent, not how a worker got it (tests/communications/
    test_celery_worker.py and tests/faults prove the real worker)."""
    from yaypay_mail.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    # Shared tasks run on the current app: make sure it is the project's, whatever app an
    # earlier test in this process created.
    app.set_current()
    yield
    app.conf.task_always_eager = saved
