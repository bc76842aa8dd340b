"""pytest fixtures around tests/smtp_servers.py: real SMTP servers with a generated CA,
and the settings that let the product reach them on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.smtp_servers import RawSMTPServer, SMTPTestServer, free_port, make_test_ca

MAILBOX_LOGIN = "ar@acme.example"
MAILBOX_PASSWORD = "Mailbox-S3cret-9f4e!"


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory):
    return make_test_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def smtp_env(settings, test_ca):
    """Trust the test CA and let the guard admit the loopback test servers."""
    settings.SMTP_CA_FILE = str(test_ca.ca_path)
    settings.SMTP_HOST_ALLOWLIST = ["localhost", "127.0.0.1"]
    settings.SMTP_ALLOWED_PORTS = [25, 465, 587, 2525]
    settings.SMTP_TIMEOUT = 2.0
    settings.SMTP_DEADLINE = 8.0
    return settings


def _allow_port(settings, port: int) -> None:
    settings.SMTP_ALLOWED_PORTS = [*settings.SMTP_ALLOWED_PORTS, port]


@pytest.fixture
def smtp_server_factory(smtp_env, test_ca):
    """Start an aiosmtpd server: smtp_server_factory(mode="implicit", refuse_rcpt={...})."""
    started = []

    def start(**options) -> SMTPTestServer:
        options.setdefault("ca", test_ca)
        options.setdefault("users", {MAILBOX_LOGIN: MAILBOX_PASSWORD})
        server = SMTPTestServer(**options).start()
        started.append(server)
        _allow_port(smtp_env, server.port)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def starttls_server(smtp_server_factory):
    return smtp_server_factory(mode="starttls")


@pytest.fixture
def implicit_tls_server(smtp_server_factory):
    return smtp_server_factory(mode="implicit")


@pytest.fixture
def raw_server_factory(smtp_env, test_ca):
    """Start a misbehaving server: raw_server_factory("never_greet")."""
    started = []

    def start(behaviour: str, **options) -> RawSMTPServer:
        server = RawSMTPServer(behaviour, **options).start()
        started.append(server)
        _allow_port(smtp_env, server.port)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def closed_port(smtp_env) -> int:
    """A loopback port that nothing listens on."""
    port = free_port()
    _allow_port(smtp_env, port)
    return port


def point_gateway_at(settings, server, *, password: str = MAILBOX_PASSWORD) -> None:
    """Make a test server the platform gateway (STARTTLS + AUTH)."""
    settings.DEFAULT_GATEWAY = {
        "HOST": "localhost",
        "PORT": server.port,
        "ENCRYPTION": "tls",
        "USERNAME": MAILBOX_LOGIN,
        "PASSWORD": password,
    }


@pytest.fixture
def gateway(smtp_server_factory, settings):
    """The platform gateway: a real STARTTLS + AUTH server that the product trusts."""
    server = smtp_server_factory(mode="starttls")
    point_gateway_at(settings, server)
    return server
