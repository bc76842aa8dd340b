"""Real SMTP servers for the test suite, run inside the test process.

* ``SMTPTestServer``: a well-behaved aiosmtpd server (STARTTLS, implicit TLS or
  plain), with logins and Postfix/Gmail/Microsoft-style refusals.
* ``RawSMTPServer``: small hand-written servers that misbehave on purpose
  (close at once, never greet, speak another protocol, scripted failures).
* ``make_test_ca``: a throw-away CA and server certificate that Python's strict
  certificate verification accepts.

No Django imports here: the module must stay usable from plain pytest.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import email
import email.message
import email.policy
import ipaddress
import logging
import socket
import socketserver
import ssl
import struct
import sys
import tempfile
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session, TLSSetupException
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "RawSMTPServer",
    "ReceivedMessage",
    "SMTPTestServer",
    "TestCA",
    "free_port",
    "make_test_ca",
]

HOST = "127.0.0.1"


class _DropLoginDataNotice(logging.Filter):
    # aiosmtpd 1.4.6 logs this deprecation itself on every successful AUTH.
    def filter(self, record: logging.LogRecord) -> bool:
        return "Session.login_data is deprecated" not in record.getMessage()


logging.getLogger("mail.log").addFilter(_DropLoginDataNotice())


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class TestCA:
    """PEM files of a test CA and of one server certificate it signed."""

    __test__ = False  # not a pytest test class, even when imported into a test module

    ca_path: Path
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting the server certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only this CA."""
        return ssl.create_default_context(cafile=str(self.ca_path))


def make_test_ca(
    directory: Path,
    server_names: tuple[str, ...] | list[str] = ("localhost",),
    server_ips: tuple[str, ...] | list[str] = ("127.0.0.1",),
) -> TestCA:
    """Create a CA and a server certificate for ``server_names``/``server_ips``.

    Files go to a new subdirectory of ``directory``, so calling this twice with the
    same directory is safe. Pass e.g. ``server_names=("other.example",), server_ips=()``
    for a certificate that is not valid for localhost.
    """
    target = Path(tempfile.mkdtemp(prefix="test-ca-", dir=directory))
    now = datetime.datetime.now(datetime.UTC)
    not_before = now - datetime.timedelta(days=1)
    not_after = now + datetime.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "YayPay Mail Test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    common_name = server_names[0] if server_names else server_ips[0]
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in server_names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    ca_path = target / "ca.pem"
    cert_path = target / "server.pem"
    key_path = target / "server.key"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TestCA(ca_path=ca_path, cert_path=cert_path, key_path=key_path)


# --------------------------------------------------------------------------- aiosmtpd server


@dataclass
class ReceivedMessage:
    """One message accepted by ``SMTPTestServer``."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: email.message.EmailMessage = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.message = email.message_from_bytes(self.raw, policy=email.policy.default)


DEFAULT_AUTH_REPLY = "535 5.7.8 Username and Password not accepted."
MODES = ("starttls", "implicit", "plain-no-starttls")


class _Handler:
    """aiosmtpd handler hooks; all state lives on the owning SMTPTestServer."""

    def __init__(self, owner: SMTPTestServer) -> None:
        self.owner = owner

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address.lower() in self.owner.refuse_mail_from:
            return f"553 5.7.1 <{address}>: Sender address rejected: not owned by user"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        sender = envelope.mail_from or ""
        if sender.lower() in self.owner.refuse_sender_at_rcpt:
            return f"553 5.7.1 <{sender}>: Sender address rejected: not owned by user"
        if address.lower() in self.owner.refuse_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.owner.delay:
            await asyncio.sleep(self.owner.delay)  # a slow server: batches take time
        raw = envelope.original_content or b""
        self.owner._record(
            ReceivedMessage(
                mail_from=envelope.mail_from or "", rcpt_tos=list(envelope.rcpt_tos), raw=raw
            )
        )
        return "250 2.0.0 Ok: queued"

    async def handle_exception(self, error: Exception) -> str:
        # A client rejecting our certificate is routine in tests; aiosmtpd would log
        # a full traceback at ERROR level for it.
        if not isinstance(error, TLSSetupException):
            logging.getLogger("mail.log").error("SMTP session exception", exc_info=error)
        return f"500 Error: ({type(error).__name__}) {error}"


class _Controller(Controller):
    """Controller that builds SMTP sessions itself and can abort them on stop."""

    def __init__(self, *args: Any, auth_required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._auth_required = auth_required
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def factory(self) -> SMTP:
        # Passing loop= avoids aiosmtpd's get_event_loop() dance (which toggles the
        # process-global warning filters from the server thread).
        smtpd = SMTP(self.handler, loop=self.loop, **self.SMTP_kwargs)
        # Set after construction: aiosmtpd warns (UserWarning, from the server thread)
        # when auth_required is combined with auth_require_tls=False, which is exactly
        # what the implicit-TLS and plain modes need.
        smtpd._auth_required = self._auth_required
        self._sessions.add(smtpd)
        return smtpd

    def stop(self, no_assert: bool = False) -> None:
        # Python >= 3.12.1 makes Server.wait_closed() wait for every connection, and a
        # TLS transport's close() waits for the peer's close_notify: abort them first.
        if self._thread is not None and self.loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._abort_all(), self.loop)
            try:
                future.result(timeout=5)
            except Exception:  # best effort: stop() must not hang
                pass
        super().stop(no_assert=no_assert)

    async def _abort_all(self) -> None:
        for smtpd in list(self._sessions):
            for transport in (smtpd.transport, smtpd._original_transport):
                if transport is not None:
                    transport.abort()


class SMTPTestServer:
    """A real aiosmtpd server on 127.0.0.1 in a background thread.

    ``mode``: "starttls" (STARTTLS required, AUTH only after TLS), "implicit" (TLS
    from the first byte) or "plain-no-starttls" (no TLS at all, AUTH advertised).
    ``users`` maps login -> password; when given, AUTH is required before MAIL.
    Without ``users`` any credentials are accepted. Address sets compare
    case-insensitively.
    """

    host = HOST

    def __init__(
        self,
        *,
        ca: TestCA,
        mode: str = "starttls",
        users: dict[str, str] | None = None,
        refuse_mail_from: set[str] | tuple[str, ...] = (),
        refuse_sender_at_rcpt: set[str] | tuple[str, ...] = (),
        refuse_rcpt: set[str] | tuple[str, ...] = (),
        auth_reply: str | None = None,
        delay: float = 0.0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.ca = ca
        self.mode = mode
        self.users = dict(users) if users is not None else None
        self.refuse_mail_from = {a.lower() for a in refuse_mail_from}
        self.refuse_sender_at_rcpt = {a.lower() for a in refuse_sender_at_rcpt}
        self.refuse_rcpt = {a.lower() for a in refuse_rcpt}
        self.auth_reply = auth_reply or DEFAULT_AUTH_REPLY
        self.delay = delay  # seconds before answering the final "." of each message
        self.port = 0
        self.received: list[ReceivedMessage] = []
        self.auth_attempts: list[str] = []
        self._cond = threading.Condition()
        self._controller: _Controller | None = None

    # -- lifecycle

    def start(self, port: int | None = None) -> SMTPTestServer:
        """Start listening; returns self. Given a `port` (a stopped server's), it
        restarts there, waiting a moment if the old socket still lingers."""
        if self._controller is not None:
            raise RuntimeError("server already started")
        last_error: Exception | None = None
        # free_port() can race with another process grabbing the port: retry.
        for _ in range(5 if port is None else 50):
            chosen = port or free_port()
            controller = self._make_controller(chosen)
            try:
                controller.start()
            except OSError as error:
                last_error = error
                controller.stop(no_assert=True)
                controller.loop.close()
                time.sleep(0.1)
                continue
            self._controller, self.port = controller, chosen
            return self
        raise RuntimeError(f"could not start SMTP test server: {last_error}")

    def stop(self) -> None:
        """Stop the server and drop all connections; idempotent."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SMTPTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- inspection

    def wait_for(self, count: int, timeout: float = 5) -> list[ReceivedMessage]:
        """Wait until at least ``count`` messages arrived; return them all."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.received) >= count, timeout):
                raise TimeoutError(
                    f"expected {count} message(s) within {timeout}s, got {len(self.received)}"
                )
            return list(self.received)

    # -- internals

    def _record(self, message: ReceivedMessage) -> None:
        with self._cond:
            self.received.append(message)
            self._cond.notify_all()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False, message=self.auth_reply)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        self.auth_attempts.append(login)
        if self.users is None or self.users.get(login) == password:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False, message=self.auth_reply)

    def _make_controller(self, port: int) -> _Controller:
        kwargs: dict[str, Any] = {
            "hostname": HOST,
            "port": port,
            "server_hostname": "localhost",  # default is socket.getfqdn(): slow DNS
            "authenticator": self._authenticate,
            "auth_required": self.users is not None,
            "ready_timeout": 5.0,
        }
        if self.mode == "starttls":
            kwargs.update(
                tls_context=self.ca.server_context(), require_starttls=True, auth_require_tls=True
            )
        elif self.mode == "implicit":
            kwargs.update(ssl_context=self.ca.server_context(), auth_require_tls=False)
        else:
            kwargs.update(auth_require_tls=False)
        return _Controller(_Handler(self), **kwargs)


# --------------------------------------------------------------------------- raw servers


BEHAVIOURS = ("close_at_once", "never_greet", "not_smtp", "scripted")
STAGES = (
    "greeting",
    "ehlo",
    "helo",
    "starttls",
    "auth",
    "mail",
    "rcpt",
    "data",
    "mid_data",
    "end_of_data",
    "rset",
    "noop",
    "quit",
)
NOT_SMTP_BANNER = b"SSH-2.0-OpenSSH_9.6 secret-banner-xyz\r\n"


class _Hangup(Exception):
    """The scripted session ends here (DROP, STALL, 421 or client gone)."""

    def __init__(self, reset: bool = False) -> None:
        super().__init__()
        self.reset = reset


class _Connection:
    """A blocking socket with a line reader; the socket may be upgraded to TLS."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.tls = False

    def readline(self) -> bytes:
        """One line including its line ending; raises _Hangup on EOF."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                return line
            chunk = self.sock.recv(65536)
            if not chunk:
                raise _Hangup
            self.buffer += chunk

    def send(self, text: str) -> None:
        lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
        self.sock.sendall("".join(line + "\r\n" for line in lines).encode())


class _TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True

    def __init__(self, owner: RawSMTPServer) -> None:
        self.owner = owner
        self.handler_threads: list[threading.Thread] = []
        super().__init__((HOST, 0), _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Own bookkeeping instead of ThreadingMixIn's, so stop() can join with a timeout.
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        self.handler_threads.append(thread)
        thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-conversation are the point of these servers.
        if not isinstance(sys.exception(), OSError | _Hangup):
            super().handle_error(request, client_address)


class _RequestHandler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        owner = self.server.owner
        conn = _Connection(self.request)
        if not owner._register(conn):
            return
        try:
            owner._serve(conn)
        except _Hangup as hangup:
            if hangup.reset:
                # SO_LINGER 0: close() sends RST instead of FIN, as a server closing
                # with unread input would. Closed here because socketserver's own
                # shutdown_request() would send a FIN first.
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.sock.close()
        finally:
            owner._unregister(conn)
            if conn.tls:  # socketserver only closes the original (detached) socket
                conn.sock.close()


class RawSMTPServer:
    """A deliberately misbehaving SMTP server on 127.0.0.1 (thread per connection).

    Behaviours: "close_at_once", "never_greet", "not_smtp", "scripted".
    For "scripted", ``script`` maps a stage (see ``STAGES``) to a reply line, to
    "DROP" (close without replying) or to "STALL" (never reply). A list value is
    consumed one item per occurrence, across connections; ``None`` or an exhausted
    list means the default reply. A reply starting with 421 closes the connection.
    "mid_data" fires after the first body line of a message was read; its DROP (or a
    reply) then resets the connection (RST), so the client sees ECONNRESET rather
    than the clean EOF of an "end_of_data" DROP, which comes after the final dot.
    """

    host = HOST

    def __init__(
        self,
        behaviour: str,
        *,
        ca: TestCA | None = None,
        script: dict[str, str | list[str | None] | None] | None = None,
    ) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}, not {behaviour!r}")
        unknown = set(script or {}) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown script stage(s) {sorted(unknown)}; known: {STAGES}")
        self.behaviour = behaviour
        self.ca = ca
        self._tls_context = ca.server_context() if ca is not None else None
        self._script: dict[str, Any] = {
            stage: deque(action) if isinstance(action, list) else action
            for stage, action in (script or {}).items()
        }
        self.port = 0
        self.received: list[bytes] = []
        self.connections = 0
        self.auth_attempts = 0
        self.auth_logins: list[str] = []
        self.commands: list[str] = []  # every command line received, in order
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._open: set[_Connection] = set()
        self._server: _TCPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> RawSMTPServer:
        """Start listening; returns self."""
        if self._server is not None:
            raise RuntimeError("server already started")
        self._server = _TCPServer(self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"RawSMTPServer-{self.behaviour}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut every open connection, join all threads; idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopped.set()
        server.shutdown()
        with self._lock:
            open_connections = list(self._open)
        for conn in open_connections:
            try:
                # Unbound call: SSLSocket.shutdown() would also drop its SSL object.
                socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        assert self._thread is not None
        self._thread.join()
        self._thread = None
        stuck = [thread for thread in server.handler_threads if not _joined(thread)]
        if stuck:
            raise RuntimeError(f"RawSMTPServer: {len(stuck)} connection thread(s) did not stop")

    def __enter__(self) -> RawSMTPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- connection bookkeeping

    def _register(self, conn: _Connection) -> bool:
        with self._lock:
            if self._stopped.is_set():
                return False
            self._open.add(conn)
            self.connections += 1
            return True

    def _unregister(self, conn: _Connection) -> None:
        with self._lock:
            self._open.discard(conn)

    # -- behaviours

    def _serve(self, conn: _Connection) -> None:
        if self.behaviour == "close_at_once":
            return
        if self.behaviour == "never_greet":
            self._stopped.wait()
            return
        if self.behaviour == "not_smtp":
            conn.sock.sendall(NOT_SMTP_BANNER)
            self._stopped.wait()
            return
        self._scripted(conn)

    def _action(self, stage: str, default: str) -> str:
        with self._lock:
            action = self._script.get(stage)
            if isinstance(action, deque):
                action = action.popleft() if action else None
        return default if action is None else action

    def _reply(self, conn: _Connection, stage: str, default: str) -> str:
        """Answer for ``stage``; returns the reply sent or raises _Hangup."""
        action = self._action(stage, default)
        if action == "DROP":
            raise _Hangup
        if action == "STALL":
            self._stopped.wait()
            raise _Hangup
        conn.send(action)
        if action.startswith("421"):
            raise _Hangup
        return action

    def _ehlo_lines(self, conn: _Connection) -> str:
        lines = ["localhost", "PIPELINING", "8BITMIME", "AUTH PLAIN LOGIN"]
        if self._tls_context is not None and not conn.tls:
            lines.append("STARTTLS")
        return "\n".join(
            f"250{'-' if i < len(lines) - 1 else ' '}{line}" for i, line in enumerate(lines)
        )

    def _scripted(self, conn: _Connection) -> None:
        self._reply(conn, "greeting", "220 localhost ESMTP raw test server")
        mail_from: str | None = None
        rcpts: list[str] = []
        while True:
            line = conn.readline().rstrip(b"\r\n").decode("utf-8", "replace")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            self.commands.append(line)
            if verb == "EHLO":
                mail_from, rcpts = None, []
                self._reply(conn, "ehlo", self._ehlo_lines(conn))
            elif verb == "HELO":
                mail_from, rcpts = None, []
                self._reply(conn, "helo", "250 localhost")
            elif verb == "STARTTLS":
                if self._tls_context is None or conn.tls:
                    conn.send("502 5.5.1 STARTTLS not available")
                    continue
                if not self._reply(conn, "starttls", "220 2.0.0 Ready to start TLS").startswith(
                    "220"
                ):
                    continue
                self._start_tls(conn)
                mail_from, rcpts = None, []
            elif verb == "AUTH":
                self._auth(conn, arg)
            elif verb == "MAIL":
                if self._reply(conn, "mail", "250 2.1.0 Ok").startswith("2"):
                    mail_from, rcpts = arg, []
            elif verb == "RCPT":
                if mail_from is None:
                    conn.send("503 5.5.1 Error: need MAIL command")
                elif self._reply(conn, "rcpt", "250 2.1.5 Ok").startswith("2"):
                    rcpts.append(arg)
            elif verb == "DATA":
                if not rcpts:
                    conn.send("503 5.5.1 Error: need RCPT command")
                    continue
                if self._reply(conn, "data", "354 End data with <CR><LF>.<CR><LF>").startswith(
                    "354"
                ):
                    self._data(conn)
                mail_from, rcpts = None, []
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self._reply(conn, "rset", "250 2.0.0 Ok")
            elif verb == "NOOP":
                self._reply(conn, "noop", "250 2.0.0 Ok")
            elif verb == "QUIT":
                self._reply(conn, "quit", "221 2.0.0 Bye")
                return
            else:
                conn.send("502 5.5.2 Error: command not recognized")

    def _start_tls(self, conn: _Connection) -> None:
        assert self._tls_context is not None
        tls_sock = self._tls_context.wrap_socket(
            conn.sock, server_side=True, do_handshake_on_connect=False
        )
        with self._lock:
            conn.sock, conn.tls = tls_sock, True
            stopped = self._stopped.is_set()
        conn.buffer.clear()  # RFC 3207: discard anything sent before the handshake
        if stopped:
            raise _Hangup
        try:
            tls_sock.do_handshake()
        except (ssl.SSLError, OSError) as error:
            raise _Hangup from error

    def _auth(self, conn: _Connection, arg: str) -> None:
        with self._lock:
            self.auth_attempts += 1
        mechanism, _, initial = arg.partition(" ")
        mechanism = mechanism.upper()

        def ask(challenge: str) -> str | None:
            conn.send(f"334 {challenge}")
            answer = conn.readline().strip().decode("ascii", "replace")
            if answer == "*":
                conn.send("501 5.7.0 Authentication aborted")
                return None
            return answer

        if mechanism == "PLAIN":
            response = initial or ask("")
            if response is None:
                return
            login = _b64(response).split("\0")[1:2]
            self.auth_logins.append(login[0] if login else "")
        elif mechanism == "LOGIN":
            user = initial or ask("VXNlcm5hbWU6")
            if user is None or ask("UGFzc3dvcmQ6") is None:
                return
            self.auth_logins.append(_b64(user))
        else:
            conn.send("504 5.5.4 Unrecognized authentication type")
            return
        self._reply(conn, "auth", "235 2.7.0 Authentication successful")

    def _data(self, conn: _Connection) -> None:
        body = bytearray()
        first = True
        while True:
            line = conn.readline()
            if line in (b".\r\n", b".\n"):
                break
            if first:
                first = False
                if "mid_data" in self._script:
                    action = self._action("mid_data", "")
                    if action == "DROP":
                        raise _Hangup(reset=True)
                    if action == "STALL":
                        self._stopped.wait()
                        raise _Hangup
                    if action:
                        conn.send(action)
                        raise _Hangup(reset=True)
            body += line[1:] if line.startswith(b".") else line
        if self._reply(conn, "end_of_data", "250 2.0.0 Ok: queued").startswith("2"):
            self.received.append(bytes(body))


def _joined(thread: threading.Thread, timeout: float = 5) -> bool:
    thread.join(timeout)
    return not thread.is_alive()


def _b64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except ValueError:
        return ""
