"""The one SMTP transport (messages are built by routes.messages).

The settings page's test message and every outbox delivery go through here,
so a passing test proves the path that reminders take.

The transport connects to the addresses the host guard checked (never a second
lookup), while TLS still checks the certificate against the host *name*.
Every read and write is bounded by SMTP_TIMEOUT and by an overall deadline.
"""

from __future__ import annotations

import base64
import re
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import lru_cache

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from routes.failures import (
    ReplyScrubber,
    SendFailure,
    Stage,
    classify,
    not_an_smtp_server,
    starttls_not_offered,
)
from routes.messages import SMTP_POLICY, PreparedMessage

__all__ = ["MailServer", "SMTPConnection", "SendFailure", "tls_context"]

_EHLO_NAME = re.sub(r"[^A-Za-z0-9.-]", "", socket.gethostname()) or "yaypay-mailer"


@dataclass(frozen=True)
class MailServer:
    """Where to send: `addresses` are the ones that were checked (or resolved, for the
    operator's gateway); the connection goes to them, never to a new lookup."""

    host: str
    port: int
    encryption: str  # "tls" (STARTTLS), "ssl" (implicit TLS) or "none" (loopback gateway only)
    addresses: tuple[str, ...]
    username: str = ""
    password: str = field(default="", repr=False)


@lru_cache(maxsize=4)
def _tls_context(ca_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def tls_context() -> ssl.SSLContext:
    """The system's trust store, plus SMTP_CA_FILE when set."""
    return _tls_context(settings.SMTP_CA_FILE)


class _PinnedSMTP(smtplib.SMTP):
    """smtplib.SMTP that connects to a given address, keeps a stage marker for error
    classification, and bounds every socket operation by the deadline."""

    pinned_address = ""
    deadline = float("inf")
    stage = Stage.CONNECT
    implicit_tls = False

    def time_left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the overall deadline passed")
        return min(self.timeout, left)

    def _get_socket(self, host, port, timeout):
        self.stage = Stage.CONNECT
        sock = socket.create_connection(
            (self.pinned_address, port), self.time_left(), self.source_address
        )
        self.stage = Stage.TLS if self.implicit_tls else Stage.GREETING
        return sock

    def _bound(self) -> None:
        if self.sock is not None:
            self.sock.settimeout(self.time_left())

    def send(self, s):
        self._bound()
        super().send(s)

    def getreply(self):
        self._bound()
        return super().getreply()

    def login(self, user, password, *, initial_response_ok=True):
        # One attempt with one mechanism (smtplib.login() tries the next mechanism after
        # a refusal, and repeated bad logins get mailboxes locked), and UTF-8 credentials
        # (smtplib's auth() accepts only ASCII).
        self.ehlo_or_helo_if_needed()
        if not self.has_extn("auth"):
            raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
        advertised = self.esmtp_features["auth"].upper().split()
        if "PLAIN" in advertised:
            code, reply = self.docmd("AUTH", "PLAIN " + _b64(f"\0{user}\0{password}"))
        elif "LOGIN" in advertised:
            code, reply = self.docmd("AUTH", "LOGIN " + _b64(user))
            if code == 334:
                code, reply = self.docmd(_b64(password))
        else:
            raise smtplib.SMTPException("No suitable authentication method found.")
        if code not in (235, 503):
            raise smtplib.SMTPAuthenticationError(code, reply)
        return code, reply


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class _PinnedSMTPSSL(smtplib.SMTP_SSL, _PinnedSMTP):
    implicit_tls = True

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)  # TCP to the pinned address, then TLS
        self.stage = Stage.GREETING
        return sock


class SMTPConnection:
    """One authenticated SMTP session, for one message or a batch of them.

    Use as a context manager, or open()/close(). send() raises SendFailure."""

    def __init__(
        self, server: MailServer, *, timeout: float | None = None, deadline: float | None = None
    ):
        self.server = server
        self.timeout = timeout if timeout is not None else settings.SMTP_TIMEOUT
        self.deadline = deadline if deadline is not None else float("inf")
        self._smtp: _PinnedSMTP | None = None
        self._scrubber = ReplyScrubber(server.username, server.password)

    def __enter__(self) -> SMTPConnection:
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> None:
        failure: SendFailure | None = None
        for address in self.server.addresses:
            try:
                self._smtp = self._connect(address)
                return
            except SendFailure as error:
                failure = error
                # Another address of the same name may answer; any other failure is final.
                if error.code != "connect_failed" or self._deadline_hit():
                    raise
        assert failure is not None, "a MailServer always has at least one address"
        raise failure

    def close(self) -> None:
        if self._smtp is None:
            return
        smtp, self._smtp = self._smtp, None
        try:
            smtp.deadline = min(smtp.deadline, time.monotonic() + 2)
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    @sensitive_variables("server")
    def _connect(self, address: str) -> _PinnedSMTP:
        server = self.server
        if server.encryption == "ssl":
            smtp = _PinnedSMTPSSL(
                local_hostname=_EHLO_NAME, timeout=self.timeout, context=tls_context()
            )
        else:
            smtp = _PinnedSMTP(local_hostname=_EHLO_NAME, timeout=self.timeout)
        smtp._host = server.host  # smtplib sets it only in __init__; TLS checks the cert against it
        smtp.pinned_address = address
        smtp.deadline = self.deadline
        try:
            code, reply = smtp.connect(server.host, server.port)
            if code == -1:
                raise not_an_smtp_server(server.host, server.port)
            if code != 220:
                raise smtplib.SMTPConnectError(code, reply)
            smtp.stage = Stage.EHLO
            self._ehlo(smtp)
            if server.encryption == "tls":
                if not smtp.has_extn("starttls"):
                    raise starttls_not_offered(server.host, server.port)
                smtp.stage = Stage.STARTTLS
                code, reply = smtp.starttls(context=tls_context())
                if code != 220:
                    raise smtplib.SMTPResponseException(code, reply)
                smtp.stage = Stage.EHLO
                self._ehlo(smtp)
            if server.username:
                smtp.stage = Stage.AUTH
                smtp.login(server.username, server.password)
            return smtp
        except Exception as error:
            smtp.close()
            raise self._failure(error, smtp.stage) from None

    @staticmethod
    def _ehlo(smtp: _PinnedSMTP) -> None:
        code, reply = smtp.ehlo()
        if code != 250:
            raise smtplib.SMTPResponseException(code, reply)

    def _deadline_hit(self) -> bool:
        return time.monotonic() >= self.deadline

    def _failure(
        self, error: BaseException, stage: str, *, sender: str = "", recipient: str = ""
    ) -> SendFailure:
        return classify(
            error,
            stage=stage,
            host=self.server.host,
            port=self.server.port,
            encryption=self.server.encryption,
            scrubber=self._scrubber,
            sender=sender,
            recipient=recipient,
            deadline_hit=self._deadline_hit(),
        )

    def set_deadline(self, deadline: float) -> None:
        """A new overall deadline, for example per message of a batch."""
        self.deadline = deadline
        if self._smtp is not None:
            self._smtp.deadline = deadline

    def send(self, message: PreparedMessage | EmailMessage) -> None:
        """Send over the open session. Every recipient must be accepted."""
        if self._smtp is None:
            self.open()
        smtp = self._smtp
        if isinstance(message, PreparedMessage):
            sender, recipients, data = message.sender, message.recipients, message.data
        else:
            sender = message["From"].addresses[0].addr_spec
            recipients = [
                address.addr_spec
                for header in ("To", "Cc")
                if message[header] is not None
                for address in message[header].addresses
            ]
            data = message.as_bytes(policy=SMTP_POLICY)
        recipient = ""
        try:
            smtp.stage = Stage.MAIL
            code, reply = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, sender)
            smtp.stage = Stage.RCPT
            for recipient in recipients:
                code, reply = smtp.rcpt(recipient)
                if code not in (250, 251):
                    raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
            smtp.stage = Stage.DATA
            self._data(smtp, data)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = error.recipients[recipient]
            self._reset(smtp)
            raise self._failure(
                smtplib.SMTPResponseException(code, reply),
                Stage.RCPT,
                sender=sender,
                recipient=recipient,
            ) from None
        except Exception as error:
            stage = smtp.stage
            if stage in (Stage.MAIL, Stage.RCPT, Stage.DATA) and getattr(error, "smtp_code", None):
                self._reset(smtp)
            else:
                self._drop()
            raise self._failure(error, stage, sender=sender, recipient=recipient) from None

    @staticmethod
    def _data(smtp: _PinnedSMTP, body: bytes) -> None:
        # smtplib.data() cannot tell "dropped while sending" (safe to retry) from
        # "no reply after the final dot" (the server may have accepted it).
        smtp.putcmd("data")
        code, reply = smtp.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        quoted = re.sub(rb"(?m)^\.", b"..", body)
        if not quoted.endswith(b"\r\n"):
            quoted += b"\r\n"
        smtp.send(quoted + b".\r\n")
        smtp.stage = Stage.AFTER_DATA
        code, reply = smtp.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)

    def _reset(self, smtp: _PinnedSMTP) -> None:
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None
