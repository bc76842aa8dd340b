"""Every failure of an SMTP conversation becomes one SendFailure, made here.

Failures are classified by the stage they happened at before the reply code:
a 553 at RCPT that says "Sender address rejected" is a sender problem, and a
timeout while connecting means something else than one after the final ".".
"""

from __future__ import annotations

import base64
import re
import smtplib
import ssl
from dataclasses import dataclass

from django.conf import settings

# Suggested only where the other method is the likely cause (encryption_hint).
PLAIN_TEXT_ON_SSL = (
    "The server answered in plain text, not TLS: choose Encryption method tls (STARTTLS), "
    "usually with port 587."
)
TLS_ON_465 = (
    "Port 465 expects TLS from the first byte: choose Encryption method ssl, or port 587 with tls."
)
SSL_ON_PLAIN_PORT = (
    "Port {port} usually starts in plain text and switches with STARTTLS: choose Encryption "
    "method tls, or port 465 with ssl."
)
# OpenSSL's reasons for a TLS handshake that met a plain-text answer ("220 ...").
_PLAIN_TEXT_REASONS = {
    "WRONG_VERSION_NUMBER",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "UNKNOWN_PROTOCOL",
    "HTTP_REQUEST",
}
INTERRUPTED = "Delivery interrupted: the server may have accepted it"
# Stored credentials (an SMTP password, OAuth tokens) no key in FERNET_KEYS opens.
CREDENTIALS_UNREADABLE = "Waiting for the operator: stored credentials cannot be read"


class Stage:
    CONNECT = "connect"
    TLS = "tls"  # the handshake of implicit TLS
    GREETING = "greeting"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"  # the DATA command and the message body, up to the final "."
    AFTER_DATA = "after_data"  # waiting for the reply to the final "."


class Scope:
    MESSAGE = "message"  # this message only; the route goes on with the next one
    ROUTE = "route"  # the route itself: every remaining message would meet it


# Failures of the connection itself, and refusals at MAIL that every message meets alike.
_ROUTE_STAGES = {Stage.CONNECT, Stage.TLS, Stage.GREETING, Stage.EHLO, Stage.STARTTLS, Stage.AUTH}
_ROUTE_CODES = {"auth_required", "auth_failed", "secret_unreadable", "host_refused"}


@dataclass
class SendFailure(Exception):
    """What went wrong, in words an AR admin can act on. `code` is a stable key for
    programs; the server's code and reply are shown beside the sentence.

    Every sending route raises this: `temporary` (worth another try), `maybe_delivered`
    (the server may have accepted it: never retried), `retry_after` (seconds, when the
    server said), and `scope` (this message, or the whole route). Left empty, `scope`
    and `maybe_delivered` follow from the stage and code."""

    code: str
    message: str
    hint: str = ""
    smtp_code: int | None = None
    smtp_reply: str = ""
    temporary: bool = False
    stage: str = ""
    maybe_delivered: bool | None = None
    retry_after: float | None = None
    scope: str = ""

    def __post_init__(self):
        super().__init__(self.message)
        if not self.scope:
            route_wide = self.stage in _ROUTE_STAGES or self.code in _ROUTE_CODES
            self.scope = Scope.ROUTE if route_wide else Scope.MESSAGE
        if self.maybe_delivered is None:
            self.maybe_delivered = self.code == "interrupted"

    def __str__(self) -> str:
        return self.message

    def server_said(self) -> str:
        if self.smtp_code is None and not self.smtp_reply:
            return ""
        return f"{self.smtp_code or ''} {self.smtp_reply}".strip()

    def full_text(self) -> str:
        """One line for lists and the audit trail."""
        # A sentence without its own stop (the contract's INTERRUPTED) still gets one.
        message = self.message if self.message.endswith((".", "!", "?")) else self.message + "."
        parts = [message, self.hint]
        if said := self.server_said():
            parts.append(f"Server said: {said}")
        return " ".join(part for part in parts if part)


class ReplyScrubber:
    """Cleans a server's reply for display: one line, bounded, and without the
    credentials in any form a hostile server could echo back (plain or base64)."""

    def __init__(self, username: str = "", password: str = ""):
        self._secrets: list[str] = []
        if password:
            forms = [password, f"\0{username}\0{password}", f"{username}\0{password}"]
            self._secrets.append(password)
            for form in forms:
                self._secrets.append(base64.b64encode(form.encode()).decode().rstrip("="))
            self._secrets = [secret for secret in self._secrets if secret.strip()]

    def clean(self, reply: bytes | str) -> str:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        # Before and after collapsing whitespace: a password may itself hold some.
        for secret in self._secrets:
            text = text.replace(secret, "[hidden]")
        text = " ".join(text.split())
        for secret in self._secrets:
            text = text.replace(" ".join(secret.split()), "[hidden]")
        return text[:500]


_GMAIL_APP_PASSWORD = re.compile(r"5\.7\.9|application-specific", re.I)
_GOOGLE = re.compile(r"google|gmail", re.I)
_MICROSOFT_AUTH_DISABLED = re.compile(
    r"5\.7\.139|5\.7\.30|basic authentication|smtpclientauthentication", re.I
)
_LOGIN_REQUIRED = re.compile(
    r"authentication required|5\.7\.57|relay access denied|relaying denied|5\.7\.0 must issue", re.I
)
_SENDER_WORDS = re.compile(
    r"sender|send ?as|5\.1\.7|5\.1\.8|5\.7\.60|5\.2\.252|not owned|from address|mail from", re.I
)
# After DATA only the unambiguous ones: "sender" there often means reputation.
_SEND_AS_DENIED = re.compile(r"send ?as|5\.2\.252|5\.7\.60|not owned", re.I)


_ENHANCED_STATUS = re.compile(r"\b[245]\.\d{1,3}\.\d{1,3}\b")


def enhanced_status(reply: str) -> str:
    """The RFC 3463 enhanced status code in a reply ("5.7.8"), or ""."""
    match = _ENHANCED_STATUS.search(reply)
    return match.group(0) if match else ""


def _connect_failure(detail: str, hint: str, *, stage: str) -> SendFailure:
    return SendFailure(
        code="connect_failed",
        message=f"Mail server connection failed. Couldn't connect to host. {detail}",
        hint=hint,
        temporary=True,
        stage=stage,
    )


def _timed_out(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, TimeoutError):
            return True
        exc = exc.__context__ or exc.__cause__
    return False


def encryption_hint(*, port: int, encryption: str, plain_text_answer: bool = False) -> str:
    """Suggest the other encryption method only when it is the likely cause: a TLS
    handshake that met a plain-text greeting, tls (STARTTLS) on 465, or ssl on a port
    that starts in plain text. Never for 587/tls or 465/ssl, where a dropped connection
    has another cause."""
    if encryption == "ssl" and plain_text_answer:
        return PLAIN_TEXT_ON_SSL
    if encryption == "tls" and port == 465:
        return TLS_ON_465
    if encryption == "ssl" and port in (25, 587, 2525):
        return SSL_ON_PLAIN_PORT.format(port=port)
    return ""


def _plain_text_answer(exc: BaseException) -> bool:
    return isinstance(exc, ssl.SSLError) and getattr(exc, "reason", None) in _PLAIN_TEXT_REASONS


def classify(
    exc: BaseException,
    *,
    stage: str,
    host: str,
    port: int,
    scrubber: ReplyScrubber,
    encryption: str = "",
    sender: str = "",
    recipient: str = "",
    deadline_hit: bool = False,
) -> SendFailure:
    """The SendFailure for an exception raised at `stage`."""
    if isinstance(exc, SendFailure):
        return exc
    where = f"{host}:{port}"
    switch_hint = encryption_hint(
        port=port, encryption=encryption, plain_text_answer=_plain_text_answer(exc)
    )
    code = getattr(exc, "smtp_code", None)
    raw_reply = getattr(exc, "smtp_error", b"")
    reply = scrubber.clean(raw_reply) if raw_reply else ""

    if stage == Stage.AFTER_DATA and not (isinstance(code, int) and code >= 400):
        return SendFailure(
            code="interrupted",
            message=INTERRUPTED,
            hint="Check the recipient's mailbox before sending again.",
            stage=stage,
        )

    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendFailure(
            code="certificate_invalid",
            message=f"The server's certificate is not valid for {host}.",
            hint=(
                f"The certificate says: {str(exc.verify_message).rstrip('.')}. Use the server "
                "name that the certificate names (your mail provider's documentation gives it), "
                "or ask your IT to fix the certificate."
            ),
            stage=stage,
        )
    if isinstance(exc, ssl.SSLError):
        return SendFailure(
            code="tls_failed",
            message=f"The secure (TLS) connection to {where} failed.",
            hint=switch_hint
            or "Check that the server offers TLS on this port; your mail provider's "
            "documentation gives the server name, port and encryption method.",
            stage=stage,
        )

    if stage in (Stage.CONNECT, Stage.TLS, Stage.GREETING) and code is None:
        if _timed_out(exc) or deadline_hit:
            hint = "Check the SMTP Server and Port, and that the server accepts connections from the addresses below."
            if stage != Stage.CONNECT:
                hint = " ".join(
                    ["The server accepted the connection but never greeted.", switch_hint]
                ).strip()
            return _connect_failure("Connect timed out.", hint, stage=stage)
        if isinstance(exc, smtplib.SMTPServerDisconnected) or isinstance(exc, ConnectionResetError):
            return SendFailure(
                code="dropped",
                message=f"Connection dropped by server {where}.",
                hint=switch_hint
                or "Try again later; if it keeps happening, check the server with your mail provider.",
                temporary=True,
                stage=stage,
            )
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        return _connect_failure(
            f"{reason}.",
            "Check the SMTP Server and Port, and that the server accepts connections from the addresses below.",
            stage=stage,
        )

    if (
        stage == Stage.AUTH
        and isinstance(exc, smtplib.SMTPException)
        and not isinstance(exc, smtplib.SMTPServerDisconnected)
        and code is None
    ):
        return SendFailure(
            code="auth_unavailable",
            message=f"The server {where} does not offer login (SMTP AUTH) on this connection.",
            hint="Check the Port and Encryption method, or leave Username and Password empty if this relay needs none.",
            stage=stage,
        )
    if isinstance(exc, OSError) and code is None:
        if _timed_out(exc) or deadline_hit:
            return SendFailure(
                code="timeout",
                message=f"The mail server {where} stopped answering (at {stage.upper()}).",
                hint="Try again later; if it keeps happening, check the server with your mail provider.",
                temporary=True,
                stage=stage,
            )
        return SendFailure(
            code="dropped",
            message=f"Connection dropped by server {where} (at {stage.upper()}).",
            hint=switch_hint if stage in (Stage.EHLO, Stage.STARTTLS) else "",
            temporary=True,
            stage=stage,
        )

    temporary = isinstance(code, int) and 400 <= code < 500
    common = {"smtp_code": code, "smtp_reply": reply, "temporary": temporary, "stage": stage}

    if stage == Stage.AUTH:
        # A server may echo the password back at AUTH in any disguise (upper-cased,
        # hex, spaced out) that no scrubber can foresee: from this stage only the
        # codes are kept, never the server's free text.
        common["smtp_reply"] = enhanced_status(reply)
        hint = "Check the Username and Password."
        if _MICROSOFT_AUTH_DISABLED.search(reply):
            hint = (
                "Microsoft 365 has SMTP AUTH disabled for this mailbox or for your organisation: "
                "ask your Microsoft 365 admin to enable Authenticated SMTP for this mailbox."
            )
            if settings.MICROSOFT_CLIENT_ID:
                hint = (
                    "Microsoft 365 no longer takes passwords for this mailbox (SMTP AUTH is "
                    "off). Choose Microsoft 365 in Use server for emails and connect the mailbox "
                    "instead; no password is needed."
                )
        elif _GMAIL_APP_PASSWORD.search(reply) or _GOOGLE.search(f"{host} {reply}"):
            hint = (
                "Check the Username and Password. Gmail needs an app password "
                "(Google Account | Security | App passwords) instead of your usual password."
            )
            if settings.GOOGLE_CLIENT_ID:
                hint += " Or choose Google in Use server for emails and connect the mailbox."
        if temporary:
            hint = "The server could not check the login just now; it will be tried again."
        return SendFailure(
            code="auth_failed", message="Authentication failed.", hint=hint, **common
        )

    if stage == Stage.STARTTLS:
        return SendFailure(
            code="tls_failed",
            message=f"The server {where} refused to start TLS.",
            hint=switch_hint or "The server's reply below says why.",
            **common,
        )
    if stage in (Stage.GREETING, Stage.EHLO):
        return SendFailure(
            code="greeting_refused",
            message=f"The mail server {where} refused the connection.",
            hint="Try again later; if it keeps happening, check that this server accepts mail from the addresses below.",
            **common,
        )
    if stage in (Stage.MAIL, Stage.RCPT) and (code == 530 or _LOGIN_REQUIRED.search(reply)):
        return SendFailure(
            code="auth_required",
            message=f"The server {where} requires a login before it accepts mail.",
            hint="Fill in Username and Password (usually the mailbox's address and its password).",
            **common,
        )
    if (
        stage == Stage.MAIL
        or (stage == Stage.RCPT and _SENDER_WORDS.search(reply))
        or (stage in (Stage.DATA, Stage.AFTER_DATA) and _SEND_AS_DENIED.search(reply))
    ):
        return SendFailure(
            code="sender_refused",
            message=f"The server refused the sender {sender}.",
            hint="This mailbox may not send as the From address: use the mailbox's own address as From, or ask your mail admin to allow sending as it.",
            **common,
        )
    if stage == Stage.RCPT:
        return SendFailure(
            code="recipient_refused",
            message=f"The server refused the recipient {recipient}.",
            hint="Check the recipient's email address.",
            **common,
        )
    return SendFailure(
        code="message_refused",
        message="The server refused the message.",
        hint="The server's reply below says why.",
        **common,
    )


def not_an_smtp_server(host: str, port: int) -> SendFailure:
    # The banner is never echoed: it may come from any service on that port.
    return SendFailure(
        code="not_smtp",
        message=f"{host}:{port} is not an SMTP server.",
        hint="Check the SMTP Server and Port (usually 587 with tls, or 465 with ssl).",
        stage=Stage.GREETING,
    )


def starttls_not_offered(host: str, port: int) -> SendFailure:
    return SendFailure(
        code="starttls_unavailable",
        message=f"The server {host}:{port} does not offer STARTTLS, so the password and mail would travel unencrypted.",
        hint="Choose Encryption method ssl (usually port 465), or a port that offers STARTTLS (usually 587).",
        stage=Stage.EHLO,
    )
