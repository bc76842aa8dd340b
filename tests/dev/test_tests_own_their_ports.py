"""A test run beside `make run` must reach no port it did not open: the default gateway
of every test is a port this session owns and never listens on, not the development
catcher's 127.0.0.1:1025."""

from __future__ import annotations

import socket

import pytest
from django.conf import settings


def test_the_default_gateway_is_a_refused_port_this_session_owns(refused_port):
    gateway = settings.DEFAULT_GATEWAY
    assert (gateway["HOST"], gateway["PORT"]) == ("127.0.0.1", refused_port)
    assert gateway["PORT"] != 1025
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", refused_port), timeout=2)


def test_a_test_that_reads_gateway_mail_gets_its_own_server(gateway):
    assert settings.DEFAULT_GATEWAY["PORT"] == gateway.port != 1025
