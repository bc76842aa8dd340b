"""Self-check of tests/smtp_servers.py with plain smtplib as the client (no Django)."""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.smtp_servers import (
    RawSMTPServer,
    SMTPTestServer,
    TestCA,
    free_port,
    make_test_ca,
)

MESSAGE = (
    b"From: Sender <sender@example.com>\r\n"
    b"To: rcpt@example.net\r\n"
    b"Subject: Invoice 42 reminder\r\n"
    b"Message-ID: <abc@example.com>\r\n"
    b"\r\n"
    b"Hello,\r\n"
    b".leading dot survives\r\n"
)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_test_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(autouse=True)
def no_thread_leaks() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2
    while set(threading.enumerate()) - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert set(threading.enumerate()) - before == set()


def _tls_handshake(ca: TestCA, server_ca: TestCA, server_hostname: str) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ca.server_context().wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except OSError:
            pass

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        with ca.client_context().wrap_socket(raw, server_hostname=server_hostname):
            pass
    finally:
        thread.join(5)
        listener.close()


def test_certificate_verifies_strictly_for_localhost_and_ip(ca: TestCA) -> None:
    assert ca.client_context().verify_flags & ssl.VERIFY_X509_STRICT
    _tls_handshake(ca, ca, "localhost")
    _tls_handshake(ca, ca, "127.0.0.1")


def test_certificate_for_other_name_is_rejected(ca: TestCA, tmp_path: Path) -> None:
    other = make_test_ca(tmp_path, server_names=("other.example",), server_ips=())
    with pytest.raises(ssl.SSLCertVerificationError, match="not valid for 'localhost'"):
        _tls_handshake(other, other, "localhost")
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        _tls_handshake(ca, other, "other.example")


def test_free_port_is_bindable() -> None:
    with socket.create_server(("127.0.0.1", free_port())):
        pass


def test_starttls_login_and_send(ca: TestCA) -> None:
    with SMTPTestServer(ca=ca, users={"alice@example.com": "s3cret"}) as server:
        with smtplib.SMTP("localhost", server.port, timeout=5) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            assert not client.has_extn("auth")
            client.starttls(context=ca.client_context())
            client.ehlo()
            assert client.has_extn("auth")
            client.login("alice@example.com", "s3cret")
            client.sendmail("alice@example.com", ["rcpt@example.net"], MESSAGE)
        (received,) = server.wait_for(1)
    assert received.mail_from == "alice@example.com"
    assert received.rcpt_tos == ["rcpt@example.net"]
    assert received.message["Subject"] == "Invoice 42 reminder"
    assert received.message["Message-ID"] == "<abc@example.com>"
    assert ".leading dot survives" in received.message.get_content()
    assert server.auth_attempts == ["alice@example.com"]


def test_starttls_mode_requires_tls_and_auth(ca: TestCA) -> None:
    with SMTPTestServer(ca=ca, users={"u": "p"}) as server:
        with smtplib.SMTP("localhost", server.port, timeout=5) as client:
            client.ehlo()
            assert client.mail("x@example.com")[0] == 530
            client.starttls(context=ca.client_context())
            client.ehlo()
            assert client.mail("x@example.com")[0] == 530


def test_implicit_tls_login_and_send(ca: TestCA) -> None:
    with SMTPTestServer(ca=ca, mode="implicit", users={"u": "p"}) as server:
        with smtplib.SMTP_SSL("localhost", server.port, context=ca.client_context()) as client:
            client.ehlo()
            assert client.has_extn("auth")
            assert not client.has_extn("starttls")
            client.login("u", "p")
            client.sendmail("u@example.com", ["a@example.net", "b@example.net"], MESSAGE)
        (received,) = server.wait_for(1)
    assert received.rcpt_tos == ["a@example.net", "b@example.net"]


def test_wrong_password_gets_535(ca: TestCA) -> None:
    with SMTPTestServer(ca=ca, mode="implicit", users={"u": "p"}) as server:
        with smtplib.SMTP_SSL("localhost", server.port, context=ca.client_context()) as client:
            with pytest.raises(smtplib.SMTPAuthenticationError) as excinfo:
                client.login("u", "wrong")
    assert excinfo.value.smtp_code == 535
    assert excinfo.value.smtp_error == b"5.7.8 Username and Password not accepted."
    assert server.auth_attempts


def test_custom_auth_reply(ca: TestCA) -> None:
    reply = "534 5.7.9 Application-specific password required."
    with SMTPTestServer(ca=ca, mode="implicit", users={"u": "p"}, auth_reply=reply) as server:
        with smtplib.SMTP_SSL("localhost", server.port, context=ca.client_context()) as client:
            client.ehlo()
            code, text = client.docmd("AUTH", "PLAIN AHUAd3Jvbmc=")  # \0u\0wrong
    assert (code, text) == (534, b"5.7.9 Application-specific password required.")
    assert server.auth_attempts == ["u"]


def test_refuse_mail_from(ca: TestCA) -> None:
    with SMTPTestServer(ca=ca, mode="implicit", refuse_mail_from={"boss@example.com"}) as server:
        with smtplib.SMTP_SSL("localhost", server.port, context=ca.client_context()) as client:
            with pytest.raises(smtplib.SMTPSenderRefused) as excinfo:
                client.sendmail("boss@example.com", ["rcpt@example.net"], MESSAGE)
    assert excinfo.value.smtp_code == 553
    assert b"Sender address rejected: not owned by user" in excinfo.value.smtp_error
    assert server.received == []


def test_refuse_sender_at_rcpt(ca: TestCA) -> None:
    with SMTPTestServer(
        ca=ca, mode="implicit", refuse_sender_at_rcpt={"boss@example.com"}
    ) as server:
        with smtplib.SMTP_SSL("localhost", server.port, context=ca.client_context()) as client:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as excinfo:
                client.sendmail("boss@example.com", ["rcpt@example.net"], MESSAGE)
    code, text = excinfo.value.recipients["rcpt@example.net"]
    assert code == 553
    assert text == b"5.7.1 <boss@example.com>: Sender address rejected: not owned by user"


def test_refuse_one_recipient(ca: TestCA) -> None:
    with SMTPTestServer(ca=ca, mode="implicit", refuse_rcpt={"gone@example.net"}) as server:
        with smtplib.SMTP_SSL("localhost", server.port, context=ca.client_context()) as client:
            refused = client.sendmail(
                "a@example.com", ["gone@example.net", "ok@example.net"], MESSAGE
            )
        (received,) = server.wait_for(1)
    assert refused["gone@example.net"][0] == 550
    assert received.rcpt_tos == ["ok@example.net"]


def test_plain_no_starttls_advertises_auth_only(ca: TestCA) -> None:
    with SMTPTestServer(ca=ca, mode="plain-no-starttls", users={"u": "p"}) as server:
        with smtplib.SMTP("localhost", server.port, timeout=5) as client:
            client.ehlo()
            assert client.has_extn("auth")
            assert not client.has_extn("starttls")
            with pytest.raises(smtplib.SMTPNotSupportedError):
                client.starttls(context=ca.client_context())


def test_stop_with_idle_tls_client_does_not_hang(ca: TestCA) -> None:
    server = SMTPTestServer(ca=ca, mode="implicit").start()
    client = smtplib.SMTP_SSL("localhost", server.port, context=ca.client_context())
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    client.close()


def test_raw_close_at_once() -> None:
    with RawSMTPServer("close_at_once") as server:
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtplib.SMTP("127.0.0.1", server.port, timeout=5)
    assert server.connections == 1


def test_raw_never_greet_times_out() -> None:
    with RawSMTPServer("never_greet") as server:
        # smtplib reports a read timeout as SMTPServerDisconnected("... timed out").
        with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out") as excinfo:
            smtplib.SMTP("127.0.0.1", server.port, timeout=0.5)
    assert isinstance(excinfo.value.__context__, TimeoutError)


def test_raw_not_smtp() -> None:
    with RawSMTPServer("not_smtp") as server:
        client = smtplib.SMTP(timeout=5)
        code, text = client.connect("127.0.0.1", server.port)
        client.close()
    assert code == -1
    assert b"secret-banner-xyz" in text


def test_scripted_greeting_421() -> None:
    with RawSMTPServer("scripted", script={"greeting": "421 4.7.0 Try again later"}) as server:
        with pytest.raises(smtplib.SMTPConnectError) as excinfo:
            smtplib.SMTP("127.0.0.1", server.port, timeout=5)
    assert excinfo.value.smtp_code == 421


def test_scripted_drop_after_final_dot() -> None:
    with RawSMTPServer("scripted", script={"end_of_data": "DROP"}) as server:
        client = smtplib.SMTP("127.0.0.1", server.port, timeout=5)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.sendmail("a@example.com", ["b@example.net"], MESSAGE)
    assert server.received == []
    assert server.commands[-1].upper() == "DATA"


def test_scripted_stall_at_end_of_data_then_stop() -> None:
    server = RawSMTPServer("scripted", script={"end_of_data": "STALL"}).start()
    client = smtplib.SMTP("127.0.0.1", server.port, timeout=0.5)
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        client.sendmail("a@example.com", ["b@example.net"], MESSAGE)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2
    client.close()


def test_scripted_list_accepts_first_and_drops_second() -> None:
    with RawSMTPServer("scripted", script={"end_of_data": ["250 ok", "DROP"]}) as server:
        client = smtplib.SMTP("127.0.0.1", server.port, timeout=5)
        client.sendmail("a@example.com", ["b@example.net"], MESSAGE)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.sendmail("a@example.com", ["b@example.net"], MESSAGE + b"second\r\n")
        # The list is exhausted: a new connection gets the default reply.
        with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as again:
            again.sendmail("a@example.com", ["b@example.net"], b"Subject: third\r\n\r\n.\r\n")
    assert server.received[0] == MESSAGE
    assert server.received[1] == b"Subject: third\r\n\r\n.\r\n"
    assert len(server.received) == 2
    assert server.connections == 2


@pytest.mark.parametrize("copies", [1, 5000])
def test_scripted_mid_data_drop_resets_the_connection(copies: int) -> None:
    with RawSMTPServer("scripted", script={"mid_data": "DROP"}) as server:
        client = smtplib.SMTP("127.0.0.1", server.port, timeout=5)
        with pytest.raises(smtplib.SMTPServerDisconnected) as excinfo:
            client.sendmail("a@example.com", ["b@example.net"], MESSAGE * copies)
    # A small body was fully sent before the reset arrived: the reply read sees it.
    # A large one (~800 kB) fails while it is still being sent.
    assert isinstance(excinfo.value.__context__, ConnectionResetError | BrokenPipeError)
    assert server.received == []


def test_scripted_end_of_data_drop_is_a_clean_eof() -> None:
    with RawSMTPServer("scripted", script={"end_of_data": "DROP"}) as server:
        client = smtplib.SMTP("127.0.0.1", server.port, timeout=5)
        with pytest.raises(smtplib.SMTPServerDisconnected) as excinfo:
            client.sendmail("a@example.com", ["b@example.net"], MESSAGE)
    assert str(excinfo.value) == "Connection unexpectedly closed"
    assert excinfo.value.__context__ is None


def test_scripted_replies_and_auth(ca: TestCA) -> None:
    # smtplib's login() falls back from PLAIN to LOGIN after a 535: two occurrences.
    script = {"auth": ["535 5.7.8 nope", "535 5.7.8 nope"], "mail": "451 4.3.0 busy"}
    with RawSMTPServer("scripted", ca=ca, script=script) as server:
        with smtplib.SMTP("localhost", server.port, timeout=5) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            client.starttls(context=ca.client_context())
            client.ehlo()
            assert not client.has_extn("starttls")
            assert client.has_extn("8bitmime")
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login("user@example.com", "pw")
            client.login("user@example.com", "pw")
            with pytest.raises(smtplib.SMTPSenderRefused) as excinfo:
                client.sendmail("a@example.com", ["b@example.net"], MESSAGE)
    assert excinfo.value.smtp_code == 451
    assert server.auth_logins[-1] == "user@example.com"
    assert server.auth_attempts == 3


def test_scripted_data_and_rcpt_replies() -> None:
    script = {"rcpt": ["550 5.1.1 unknown", None], "data": "554 5.7.1 no thanks"}
    with RawSMTPServer("scripted", script=script) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as client:
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("a@example.com", ["b@example.net"], MESSAGE)
            with pytest.raises(smtplib.SMTPDataError) as excinfo:
                client.sendmail("a@example.com", ["b@example.net"], MESSAGE)
    assert excinfo.value.smtp_code == 554
    assert server.received == []
