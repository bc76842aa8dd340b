"""settings_app/smtp.py against real servers: TLS both ways, pinning, and each failure."""

from __future__ import annotations

import threading
import time

import pytest

from routes.messages import build_message
from routes.smtp import MailServer, SendFailure, SMTPConnection
from tests.smtp_fixtures import MAILBOX_LOGIN, MAILBOX_PASSWORD
from tests.smtp_servers import make_test_ca


def _server(
    port: int, *, encryption="tls", host="localhost", password=MAILBOX_PASSWORD, **kw
) -> MailServer:
    return MailServer(
        host=host,
        port=port,
        encryption=encryption,
        addresses=("127.0.0.1",),
        username=MAILBOX_LOGIN,
        password=password,
        **kw,
    )


def _message(**overrides):
    fields = {
        "from_email": "ar@acme.example",
        "from_name": "Acme AR",
        "to": ["customer@client.example"],
        "subject": "Invoice 1001 is overdue",
        "text": "Please pay.\n.\nA line with a lone dot above.",
        "html": "<p>Please pay.</p>",
    }
    fields.update(overrides)
    return build_message(**fields)


def _send(server: MailServer, message=None, **kw):
    with SMTPConnection(server, **kw) as connection:
        connection.send(message or _message())


def _failure(server: MailServer, message=None, **kw) -> SendFailure:
    with pytest.raises(SendFailure) as caught:
        _send(server, message, **kw)
    return caught.value


@pytest.mark.parametrize("mode,encryption", [("starttls", "tls"), ("implicit", "ssl")])
def test_it_delivers_over_each_encryption_method(smtp_server_factory, mode, encryption):
    server = smtp_server_factory(mode=mode)
    _send(_server(server.port, encryption=encryption))
    (received,) = server.wait_for(1)
    assert received.mail_from == "ar@acme.example"
    assert received.rcpt_tos == ["customer@client.example"]
    assert received.message["From"] == "Acme AR <ar@acme.example>"
    text = received.message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == "Please pay.\n.\nA line with a lone dot above.\n"
    assert received.message.get_body(("html",)).get_content().strip() == "<p>Please pay.</p>"
    assert server.auth_attempts == [MAILBOX_LOGIN]


def test_it_sends_several_messages_over_one_connection(starttls_server):
    with SMTPConnection(_server(starttls_server.port)) as connection:
        for number in range(3):
            connection.send(_message(subject=f"Reminder {number}"))
    received = starttls_server.wait_for(3)
    assert [r.message["Subject"] for r in received] == ["Reminder 0", "Reminder 1", "Reminder 2"]
    assert starttls_server.auth_attempts == [MAILBOX_LOGIN]


def test_it_connects_to_the_checked_address_while_tls_verifies_the_name(
    smtp_server_factory, tmp_path, smtp_env
):
    # The name does not resolve anywhere: only the pinned address can be used.
    named_ca = make_test_ca(tmp_path, server_names=("mail.acme.example",), server_ips=())
    smtp_env.SMTP_CA_FILE = str(named_ca.ca_path)
    server = smtp_server_factory(ca=named_ca, mode="starttls")
    _send(_server(server.port, host="mail.acme.example"))
    assert len(server.wait_for(1)) == 1


def test_it_refuses_a_certificate_that_does_not_name_the_host(
    smtp_server_factory, tmp_path, smtp_env
):
    other_ca = make_test_ca(tmp_path, server_names=("other.example",), server_ips=())
    smtp_env.SMTP_CA_FILE = str(other_ca.ca_path)
    server = smtp_server_factory(ca=other_ca, mode="implicit")
    failure = _failure(_server(server.port, encryption="ssl"))
    assert failure.code == "certificate_invalid"
    assert failure.message == "The server's certificate is not valid for localhost."
    assert server.auth_attempts == []


def test_it_never_logs_in_without_starttls(smtp_server_factory):
    server = smtp_server_factory(mode="plain-no-starttls")
    failure = _failure(_server(server.port))
    assert failure.code == "starttls_unavailable"
    assert server.auth_attempts == []
    assert server.received == []


def test_a_deadline_ends_a_stalled_conversation(raw_server_factory):
    stalled = raw_server_factory("scripted", script={"mail": "STALL"})
    result = {}

    def attempt():
        try:
            _send(
                _server(stalled.port, encryption="none"),
                timeout=120,
                deadline=time.monotonic() + 0.5,
            )
        except SendFailure as failure:
            result["failure"] = failure

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(60)  # far below the 120 s per-command time-out
    assert not worker.is_alive()
    assert result["failure"].code == "timeout"
    assert result["failure"].temporary


def test_no_reply_after_the_final_dot_is_an_interrupted_delivery(raw_server_factory):
    server = raw_server_factory("scripted", script={"end_of_data": "DROP"})
    failure = _failure(_server(server.port, encryption="none"))
    assert failure.code == "interrupted"
    assert failure.message == "Delivery interrupted: the server may have accepted it"
    assert not failure.temporary


def test_a_drop_while_sending_the_body_is_temporary(raw_server_factory):
    # Big enough that the client is still writing when the server hangs up: a body
    # that fits in the socket buffers would look sent, and end as "interrupted".
    server = raw_server_factory("scripted", script={"mid_data": "DROP"})
    failure = _failure(
        _server(server.port, encryption="none"), _message(text=("x" * 76 + "\n") * 200_000)
    )
    assert failure.code == "dropped"
    assert failure.temporary


@pytest.mark.parametrize(
    "stage,reply,code,temporary",
    [
        ("greeting", "421 4.7.0 Try again later", "greeting_refused", True),
        ("mail", "451 4.3.0 Local error", "sender_refused", True),
        ("mail", "550 5.7.1 Not allowed", "sender_refused", False),
        ("rcpt", "451 4.3.0 Try later", "recipient_refused", True),
        ("rcpt", "550 5.1.1 No such user", "recipient_refused", False),
        ("data", "554 5.5.1 No valid recipients", "message_refused", False),
        ("end_of_data", "451 4.3.0 Queue full", "message_refused", True),
        ("end_of_data", "550 5.7.1 Spam detected", "message_refused", False),
    ],
)
def test_replies_are_classified_by_stage_and_code(
    raw_server_factory, stage, reply, code, temporary
):
    server = raw_server_factory("scripted", script={stage: reply})
    failure = _failure(_server(server.port, encryption="none"))
    assert (failure.code, failure.temporary) == (code, temporary)
    assert failure.smtp_code == int(reply[:3])
    assert failure.smtp_reply == reply[4:]


def test_a_reply_echoing_the_credentials_is_scrubbed(raw_server_factory):
    import base64

    echoed = base64.b64encode(f"\0{MAILBOX_LOGIN}\0{MAILBOX_PASSWORD}".encode()).decode()
    server = raw_server_factory(
        "scripted", script={"auth": f"535 5.7.8 bad {echoed} {MAILBOX_PASSWORD}"}
    )
    failure = _failure(_server(server.port, encryption="none"))
    assert failure.code == "auth_failed"
    assert MAILBOX_PASSWORD not in failure.full_text()
    assert echoed.rstrip("=") not in failure.full_text()


@pytest.mark.parametrize("field", ["from_name", "subject", "from_email"])
def test_the_builder_refuses_line_breaks_in_headers(field):
    with pytest.raises(ValueError):
        _message(**{field: "Acme\r\nBcc: victim@evil.example"})


@pytest.mark.parametrize(
    "stage,reply,code,temporary",
    [
        ("mail", "530 5.7.0 Authentication Required", "auth_required", False),
        ("rcpt", "554 5.7.1 <c@x.example>: Relay access denied", "auth_required", False),
        (
            "end_of_data",
            "554 5.2.252 SendAsDenied; ar@acme.example not allowed to send as x",
            "sender_refused",
            False,
        ),
        ("end_of_data", "550 5.7.1 Message rejected: sender reputation", "message_refused", False),
        ("auth", "454 4.7.0 Temporary authentication failure", "auth_failed", True),
    ],
)
def test_refusals_that_look_alike_are_told_apart(raw_server_factory, stage, reply, code, temporary):
    server = raw_server_factory("scripted", script={stage: reply})
    failure = _failure(_server(server.port, encryption="none"))
    assert (failure.code, failure.temporary) == (code, temporary)


def test_the_gmail_app_password_advice_is_only_for_gmail(raw_server_factory):
    server = raw_server_factory(
        "scripted", script={"auth": "535 5.7.8 Error: authentication failed"}
    )
    failure = _failure(_server(server.port, encryption="none"))
    assert "Gmail" not in failure.hint
    assert failure.hint == "Check the Username and Password."


def test_a_password_with_whitespace_is_scrubbed_from_echoed_replies(raw_server_factory):
    password = "pa\tss  word"
    server = raw_server_factory("scripted", script={"auth": "535 5.7.8 bad pa ss word"})
    failure = _failure(_server(server.port, encryption="none", password=password))
    assert "pa ss word" not in failure.full_text()


def test_non_ascii_text_travels_as_7bit(starttls_server):
    _send(
        _server(starttls_server.port),
        _message(text="Grüße, Müller — bitte zahlen.", from_name="Zoë AR"),
    )
    (received,) = starttls_server.wait_for(1)
    assert b"Content-Transfer-Encoding: 8bit" not in received.raw
    assert max(received.raw) < 128
    assert received.message.get_body(("plain",)).get_content().startswith("Grüße, Müller")
    assert received.message["From"] == "Zoë AR <ar@acme.example>"
