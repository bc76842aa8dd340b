from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _eager(eager_tasks):
    """The reset mail is sent by a task; these tests read that mail."""


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """Many password checks; the hasher's cost is not what is tested."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def broker_down(refused_port):
    """A Redis broker on a loopback port this session owns and never listens on:
    publishing fails as it does when Redis is down, through kombu's Redis transport."""
    from yaypay_mail.celery import app

    names = ("broker_url", "broker_write_url", "task_always_eager", "broker_transport_options")
    saved = {name: app.conf[name] for name in names}
    app.conf.broker_url = app.conf.broker_write_url = f"redis://127.0.0.1:{refused_port}/0"
    app.conf.task_always_eager = False
    app.conf.broker_transport_options = {"socket_connect_timeout": 1, "max_retries": 1}
    app._pool = app.amqp._producer_pool = None  # new connections to the new address
    yield
    app.conf.update(saved)
    app._pool = app.amqp._producer_pool = None
