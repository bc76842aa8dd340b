"""A local stand-in for Microsoft and Google mail APIs, run inside the test process.

The real providers cannot be reached from the test suite, so ``StandIn`` serves, from
one small real HTTP server on 127.0.0.1 (stdlib ``ThreadingHTTPServer``, daemon thread):

* the Microsoft identity platform: authorize (consent page), token (code + PKCE,
  rotating refresh tokens) and admin consent, under ``/ms-login/<tenant>/...``;
* Microsoft Graph: ``GET /v1.0/me`` and the MIME form of ``sendMail`` under ``/ms-graph``;
* Google OAuth: authorize (consent page), token, revoke, under ``/google-accounts`` and
  ``/google-oauth2``;
* the Gmail API: ``users.messages.send`` under ``/google-gmail``.

Response shapes follow the providers' documentation; each handler quotes its page.
Tests apply ``standin.settings()`` with ``override_settings``, drive the consent page
with ``approve()``/``deny()`` (or a browser), script failures with ``fail_next()`` and
inspect ``sent`` and ``requests``.

No Django imports here: the module must stay usable from plain pytest.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.message
import email.policy
import email.utils
import hashlib
import html
import http.client
import json
import re
import secrets
import socket
import socketserver
import sys
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

__all__ = [
    "ENDPOINTS",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "MICROSOFT_CLIENT_ID",
    "MICROSOFT_CLIENT_SECRET",
    "MICROSOFT_TENANT",
    "MICROSOFT_TENANT_ID",
    "AuthorizeError",
    "GoogleUser",
    "LoggedRequest",
    "MicrosoftUser",
    "SentMessage",
    "StandIn",
    "aad_error",
    "gmail_error",
    "graph_error",
    "oauth_error",
]

HOST = "127.0.0.1"

MICROSOFT = "microsoft"
GOOGLE = "google"

# Fixed app registrations the stand-in checks (the product gets them from settings()).
MICROSOFT_CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
MICROSOFT_CLIENT_SECRET = "stand~in.ms-secret_Q8x7"
MICROSOFT_TENANT = "organizations"
MICROSOFT_TENANT_ID = "72f988bf-0000-4000-8000-00000000a11c"  # the "tenant" of admin consent
GOOGLE_CLIENT_ID = "123456789012-standin.apps.googleusercontent.com"
GOOGLE_CLIENT_SECRET = "GOCSPX-standin-secret-7Kq"

GRAPH_RESOURCE = "https://graph.microsoft.com/"
MICROSOFT_REQUIRED_SCOPES = ("Mail.Send", "Mail.Send.Shared", "User.Read", "offline_access")
GMAIL_SEND_SCOPE = "https://www.googleapis.com/auth/gmail.send"
GOOGLE_EMAIL_SCOPE = "https://www.googleapis.com/auth/userinfo.email"
DEFAULT_LIFETIME = 3599
CODE_LIFETIME = 600.0  # both providers: authorization codes live about ten minutes

# Names for fail_next(); the first six are the ones the product talks to server-side.
ENDPOINTS = (
    "ms_token",
    "ms_me",
    "ms_send",
    "google_token",
    "google_revoke",
    "google_send",
    "ms_authorize",
    "ms_adminconsent",
    "google_authorize",
)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# --------------------------------------------------------------------------- error bodies


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def oauth_error(error: str, description: str | None = None, **extra: Any) -> dict[str, Any]:
    """A plain RFC 6749 §5.2 error body (Google's token and revoke endpoints use it).

    https://datatracker.ietf.org/doc/html/rfc6749#section-5.2
    https://developers.google.com/identity/protocols/oauth2/web-server#exchange-authorization-code
    """
    body: dict[str, Any] = {"error": error}
    if description is not None:
        body["error_description"] = description
    body.update(extra)
    return body


def aad_error(error: str, code: int, message: str) -> dict[str, Any]:
    """A Microsoft identity platform token error: RFC 6749 §5.2 plus AADSTS details.

    https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#error-response-1
    """
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    timestamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {message} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def graph_error(code: str, message: str, *, client_request_id: str | None = None) -> dict[str, Any]:
    """A Microsoft Graph error body.

    https://learn.microsoft.com/en-us/graph/errors
    """
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": _now_iso(),
                "request-id": str(uuid.uuid4()),
                "client-request-id": client_request_id or str(uuid.uuid4()),
            },
        }
    }


def gmail_error(status_code: int, reason: str, message: str, status: str) -> dict[str, Any]:
    """A Google API (Gmail) error body, e.g. ``gmail_error(429, "rateLimitExceeded",
    "Too many requests", "RESOURCE_EXHAUSTED")`` or ``gmail_error(403,
    "userRateLimitExceeded", "User Rate Limit Exceeded", "PERMISSION_DENIED")``.

    https://developers.google.com/gmail/api/guides/handle-errors
    """
    return {
        "error": {
            "code": status_code,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": status,
        }
    }


GRAPH_TOKEN_EXPIRED = "Access token has expired or is not yet valid."
GRAPH_MAILBOX_NOT_ENABLED = "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
GRAPH_SEND_AS_DENIED = (
    "The user account which was used to submit this request does not have the right to send "
    "mail on behalf of the specified sending account., Cannot submit message."
)
GMAIL_RAW_REQUIRED = (
    "'raw' RFC822 payload message string or uploading message via /upload/* URL required"
)
GMAIL_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


# --------------------------------------------------------------------------- public records


@dataclass
class MicrosoftUser:
    """A work account in the stand-in's directory."""

    email: str  # userPrincipalName, the sign-in name
    mail: str | None  # primary SMTP address; None for an account without a mailbox
    send_as: tuple[str, ...]  # shared mailboxes this user may send as
    licensed: bool  # False: no Exchange Online licence, Graph mail calls give 404
    display_name: str
    id: str

    @property
    def mailbox(self) -> str:
        return self.mail or self.email


@dataclass
class GoogleUser:
    """A Google account; ``aliases`` are its verified "Send mail as" addresses."""

    email: str
    aliases: tuple[str, ...]
    verified: bool
    sub: str


@dataclass
class SentMessage:
    """One message the stand-in accepted for delivery.

    ``raw``/``message`` are the message as delivered (after Gmail's From or Message-ID
    rewrites, or a Message-ID the provider added); ``submitted`` is what the product sent.
    """

    provider: str  # "microsoft" or "google"
    account: str  # the signed-in user (UPN / Google email)
    path: str
    from_addr: str
    to: list[str]  # To + Cc + Bcc
    message_id: str | None
    provider_id: str | None  # Gmail message id; None for Graph
    raw: bytes = field(repr=False)
    submitted: bytes = field(repr=False)
    thread_id: str | None = None  # Gmail threadId
    message: email.message.EmailMessage = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.message = email.message_from_bytes(self.raw, policy=email.policy.default)


class LoggedRequest(NamedTuple):
    """One request as the stand-in saw it. ``headers`` has lower-case names, and the
    Authorization value is cut to its scheme ("Bearer", "Basic"). ``keys`` are the
    query-string keys followed by the form/JSON body keys."""

    method: str
    path: str
    headers: dict[str, str]
    keys: tuple[str, ...]


class AuthorizeError(AssertionError):
    """approve()/deny() got an error page instead of a consent page or a redirect."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status}: {reason}")
        self.status = status
        self.reason = reason


# --------------------------------------------------------------------------- internal state


@dataclass
class _Code:
    value: str
    provider: str
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    account: str
    nonce: str | None
    openid: bool
    issued: float = field(default_factory=time.monotonic)
    used: bool = False


@dataclass
class _Grant:
    provider: str
    client_id: str
    account: str
    scope: str
    nonce: str | None
    openid: bool
    revoked: bool = False


@dataclass
class _RefreshToken:
    value: str
    grant: _Grant
    superseded: bool = False


@dataclass
class _AccessToken:
    value: str
    grant: _Grant
    expires_at: float


@dataclass
class _Failure:
    status: int | str  # an HTTP status, "drop" or "stall"
    body: dict[str, Any] | str | None
    headers: dict[str, str]
    seconds: float


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any  # http.client.HTTPMessage
    body: bytes
    form: dict[str, str]
    json: Any
    groups: dict[str, str]


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, obj: Any, headers: dict[str, str] | None = None) -> _Response:
    return _Response(
        status,
        json.dumps(obj).encode(),
        {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )


def _redirect(location: str) -> _Response:
    return _Response(302, b"", {"Location": location})


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _graph_scope(scope: str) -> str:
    """ "https://graph.microsoft.com/Mail.Send" -> "Mail.Send"."""
    if scope.lower().startswith(GRAPH_RESOURCE):
        return scope[len(GRAPH_RESOURCE) :]
    return scope


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))).
    https://datatracker.ietf.org/doc/html/rfc7636#section-4.2"""
    return _b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())


def _jwt(claims: dict[str, Any]) -> str:
    """A JWS-shaped token with a dummy signature (nothing here verifies signatures)."""
    header = {"alg": "RS256", "kid": "standin"}
    return ".".join(
        (
            _b64url(json.dumps(header, separators=(",", ":")).encode()),
            _b64url(json.dumps(claims, separators=(",", ":")).encode()),
            _b64url(b"standin-signature-not-verifiable"),
        )
    )


def _addresses(message: email.message.EmailMessage, *names: str) -> list[tuple[str, str]]:
    """(header name, addr_spec) for every address in the named headers."""
    found = []
    for name in names:
        for value in message.get_all(name, []):
            for address in getattr(value, "addresses", ()):
                found.append((name, address.addr_spec))
    return found


def _bad_recipient(address: str) -> bool:
    domain = address.rpartition("@")[2].lower()
    return "@" not in address or domain == "invalid" or domain.endswith(".invalid")


def _replace_header(raw: bytes, name: str, value: str) -> bytes:
    """Replace (or add) one header in raw message bytes, leaving the body untouched."""
    newline = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
    head, sep, body = raw.partition(newline + newline)
    lines = head.split(newline) if head else []
    kept: list[bytes] = []
    position: int | None = None
    skipping = False
    prefix = name.lower().encode() + b":"
    for line in lines:
        if skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = line.lower().startswith(prefix)
        if skipping:
            position = len(kept) if position is None else position
            continue
        kept.append(line)
    new_line = f"{name}: {value}".encode()
    kept.insert(0 if position is None else position, new_line)
    return newline.join(kept) + (sep or newline + newline) + body


def _parse_message(raw: bytes) -> email.message.EmailMessage | None:
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if not _addresses(message, "From"):
            return None
    except Exception:
        return None
    return message


def _page(title: str, body: str) -> bytes:
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        f"<body><main>\n{body}\n</main></body></html>\n"
    ).encode()


def _title(provider: str) -> str:
    return f"Sign in – {'Microsoft' if provider == MICROSOFT else 'Google'} (stand-in)"


# --------------------------------------------------------------------------- HTTP plumbing


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: StandIn) -> None:
        self.owner = owner
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__((HOST, owner.port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() calls socket.getfqdn(), which can wait on slow DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def cut_all(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (timeouts, "drop" drills, stop()) are routine here.
        if not isinstance(sys.exception(), OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "StandIn/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        body = self._read_body()
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        form: dict[str, str] = {}
        parsed_json: Any = None
        if content_type == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif content_type == "application/json":
            try:
                parsed_json = json.loads(body or b"null")
            except ValueError:
                parsed_json = None
        request = _Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=self.headers,
            body=body,
            form=form,
            json=parsed_json,
            groups={},
        )
        owner = self.server.owner
        with owner._cond:
            owner._in_flight += 1
        try:
            response = owner._handle(request)
        finally:
            with owner._cond:
                owner._in_flight -= 1
                owner._cond.notify_all()
        if response is None:  # a "drop" drill: no response at all
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)


# --------------------------------------------------------------------------- the stand-in


class StandIn:
    """Microsoft identity platform + Graph and Google OAuth + Gmail on one local server.

    Use as ``with StandIn() as standin:``. Knobs (plain attributes, reset by ``reset()``):
    ``invalidate_old_refresh_tokens``, ``refresh_delay``, ``access_lifetime``,
    ``rewrite_message_id``, ``allowed_redirect_uris`` (empty: any http(s) URL).
    """

    host = HOST

    def __init__(self, port: int = 0) -> None:
        self.port = port  # 0: a free port, chosen at start()
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._in_flight = 0  # requests being handled (see wait_idle)
        self._stopped = threading.Event()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ms_users: dict[str, MicrosoftUser] = {}
        self._google_users: dict[str, GoogleUser] = {}
        self._codes: dict[str, _Code] = {}
        self._refresh_tokens: dict[str, _RefreshToken] = {}
        self._access_tokens: dict[str, _AccessToken] = {}
        self._grants: list[_Grant] = []
        self._thread_of: dict[str, str] = {}  # Gmail: Message-ID -> threadId
        self._route_table = self._routes()
        self._reset_state()

    def _reset_state(self) -> None:
        with self._lock:
            self.invalidate_old_refresh_tokens = False
            self.refresh_delay = 0.0
            self.access_lifetime = DEFAULT_LIFETIME
            self.rewrite_message_id = False
            self.allowed_redirect_uris: set[str] = set()
            self.admin_consents: list[dict[str, str]] = []
            self.errors: list[str] = []  # unexpected exceptions inside handlers
            self._sent: list[SentMessage] = []
            self._requests: list[LoggedRequest] = []
            self._revoked: list[str] = []
            self._refresh_counts: defaultdict[tuple[str, str], int] = defaultdict(int)
            self._failures: dict[str, deque[_Failure]] = defaultdict(deque)

    # -- lifecycle

    def start(self) -> StandIn:
        """Start listening on 127.0.0.1 (the port given, else a free one); returns self."""
        if self._server is not None:
            raise RuntimeError("stand-in already started")
        self._stopped.clear()
        self._server = _HTTPServer(self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"OAuthStandIn-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections (and stalls); idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopped.set()
        server.shutdown()
        server.cut_all()
        server.server_close()
        assert self._thread is not None
        self._thread.join(5)
        self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def settings(self) -> dict[str, str]:
        """Django settings pointing the product at this stand-in."""
        base = self.base_url
        return {
            "MICROSOFT_AUTHORITY_URL": base + "/ms-login",
            "MICROSOFT_GRAPH_URL": base + "/ms-graph",
            "MICROSOFT_CLIENT_ID": MICROSOFT_CLIENT_ID,
            "MICROSOFT_CLIENT_SECRET": MICROSOFT_CLIENT_SECRET,
            "MICROSOFT_TENANT": MICROSOFT_TENANT,
            "GOOGLE_AUTH_URL": base + "/google-accounts/o/oauth2/v2/auth",
            "GOOGLE_TOKEN_URL": base + "/google-oauth2/token",
            "GOOGLE_API_URL": base + "/google-gmail",
            "GOOGLE_CLIENT_ID": GOOGLE_CLIENT_ID,
            "GOOGLE_CLIENT_SECRET": GOOGLE_CLIENT_SECRET,
        }

    # -- accounts

    def add_microsoft_user(
        self,
        email: str,
        *,
        mail: str | None | object = ...,
        send_as: tuple[str, ...] | list[str] = (),
        licensed: bool = True,
        display_name: str | None = None,
    ) -> MicrosoftUser:
        """Add (or replace) a work account; ``mail`` defaults to ``email``, pass None
        for an account without a mail address."""
        user = MicrosoftUser(
            email=email,
            mail=email if mail is ... else mail,  # type: ignore[arg-type]
            send_as=tuple(send_as),
            licensed=licensed,
            display_name=display_name or email.split("@")[0].replace(".", " ").title(),
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, "standin:microsoft:" + email.lower())),
        )
        with self._lock:
            self._ms_users[email.lower()] = user
        return user

    def add_google_user(
        self, email: str, *, aliases: tuple[str, ...] | list[str] = (), verified: bool = True
    ) -> GoogleUser:
        """Add (or replace) a Google account with its "Send mail as" ``aliases``."""
        digest = hashlib.sha256(b"standin:google:" + email.lower().encode()).hexdigest()
        user = GoogleUser(
            email=email,
            aliases=tuple(aliases),
            verified=verified,
            sub="1" + str(int(digest, 16))[:20],
        )
        with self._lock:
            self._google_users[email.lower()] = user
        return user

    # -- knobs and drills

    def fail_next(
        self,
        endpoint: str,
        status: int | str,
        body: dict[str, Any] | str | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        *,
        seconds: float = 0.0,
    ) -> None:
        """Script the next ``times`` responses of ``endpoint`` (see ``ENDPOINTS``).

        ``status`` is an HTTP status (answered with ``body``: a dict as JSON, a str as
        text, None as empty, plus ``headers``), "drop" (read the request, close the
        connection without answering) or "stall" (read the request, wait ``seconds``,
        then answer normally). Scripted answers skip the normal handling: a send is
        not recorded, a token is not issued.
        """
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; known: {ENDPOINTS}")
        if isinstance(status, str) and status not in ("drop", "stall"):
            raise ValueError('status must be an HTTP status, "drop" or "stall"')
        failure = _Failure(status, body, dict(headers or {}), seconds)
        with self._lock:
            self._failures[endpoint].extend(failure for _ in range(times))

    def expire_access_tokens(self, email: str, provider: str | None = None) -> None:
        """Make every access token issued to ``email`` expired (Graph/Gmail answer 401)."""
        with self._lock:
            for token in self._access_tokens.values():
                if self._owned(token.grant, email, provider):
                    token.expires_at = 0.0

    def revoke_grant(self, email: str, provider: str | None = None) -> None:
        """Revoke the account's grants: refresh -> invalid_grant, access tokens -> 401."""
        with self._lock:
            for grant in self._grants:
                if self._owned(grant, email, provider):
                    grant.revoked = True

    def refresh_count(self, email: str, provider: str | None = None) -> int:
        """refresh_token grant requests that named a refresh token of ``email``
        (successful or not; scripted failures are not counted)."""
        with self._lock:
            return sum(
                count
                for (prov, account), count in self._refresh_counts.items()
                if account == email.lower() and provider in (None, prov)
            )

    def reset(self) -> None:
        """Clear messages, logs, counters, scripted failures and knobs. Accounts and
        already issued tokens stay."""
        self._reset_state()

    # -- inspection

    @property
    def sent(self) -> list[SentMessage]:
        """A snapshot of the accepted messages, oldest first."""
        with self._lock:
            return list(self._sent)

    @property
    def requests(self) -> list[LoggedRequest]:
        """A snapshot of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def revoked(self) -> list[str]:
        """Tokens revoked through Google's revoke endpoint."""
        with self._lock:
            return list(self._revoked)

    def wait_idle(self, timeout: float = 10) -> bool:
        """Wait until no request is being handled (a stalled one finishes), so that what
        it does (a send recorded, a refresh counted) never lands in the next test."""
        with self._cond:
            return self._cond.wait_for(lambda: self._in_flight == 0, timeout)

    def wait_for_sent(self, count: int, timeout: float = 5) -> list[SentMessage]:
        """Wait until at least ``count`` messages were accepted; return them all."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._sent) >= count, timeout):
                raise TimeoutError(
                    f"expected {count} message(s) within {timeout}s, got {len(self._sent)}"
                )
            return list(self._sent)

    # -- consent helpers (they go through the real server, like a browser would)

    def approve(self, authorize_url: str, account: str | None = None) -> str:
        """Open the consent page at ``authorize_url``, pick ``account`` (default: the
        provider's first account) and press Accept; return the callback URL."""
        path, params = self._own_url(authorize_url)
        provider = MICROSOFT if path.startswith("/ms-login/") else GOOGLE
        if account is None:
            with self._lock:
                users = self._ms_users if provider == MICROSOFT else self._google_users
                if not users:
                    raise AuthorizeError(0, f"no {provider} account: add one first")
                account = next(iter(users.values())).email
        return self._submit(authorize_url, path, params, {"account": account, "action": "accept"})

    def deny(self, authorize_url: str) -> str:
        """Open the consent (or admin consent) page and press Cancel; return the
        access_denied callback URL."""
        path, params = self._own_url(authorize_url)
        return self._submit(authorize_url, path, params, {"action": "cancel"})

    def approve_admin_consent(self, admin_consent_url: str) -> str:
        """Open the admin consent page and press Accept; return the callback URL."""
        path, params = self._own_url(admin_consent_url)
        return self._submit(admin_consent_url, path, params, {"action": "accept"})

    def _own_url(self, url: str) -> tuple[str, dict[str, str]]:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.base_url:
            raise AuthorizeError(0, f"{url!r} does not point at the stand-in {self.base_url}")
        return parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))

    def _submit(self, url: str, path: str, params: dict[str, str], choice: dict[str, str]) -> str:
        status, _headers, body = self._http("GET", url)
        if status != 200:
            raise AuthorizeError(status, _page_reason(body))
        form = {**params, **choice}
        status, headers, body = self._http("POST", path, urlencode(form).encode())
        if status != 302:
            raise AuthorizeError(status, _page_reason(body))
        return headers["location"]

    def _http(
        self, method: str, target: str, body: bytes | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        path = urlunsplit(("", "", parts.path, parts.query, ""))
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            headers = {"X-StandIn-Helper": "1"}
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            connection.close()

    # -- dispatch

    def _routes(self) -> list[tuple[tuple[str, ...], re.Pattern[str], str, Callable]]:
        ms = r"/ms-login/(?P<tenant>[^/]+)"
        graph = r"(?i)/ms-graph/v1\.0"
        table = [
            ("GET POST", ms + r"/oauth2/v2\.0/authorize", "ms_authorize", self._ms_authorize),
            ("POST", ms + r"/oauth2/v2\.0/token", "ms_token", self._ms_token),
            ("GET POST", ms + r"/v2\.0/adminconsent", "ms_adminconsent", self._ms_admin_consent),
            ("GET", graph + r"/me", "ms_me", self._ms_me),
            ("POST", graph + r"/me/sendMail", "ms_send", self._ms_send),
            ("POST", graph + r"/users/(?P<user>[^/]+)/sendMail", "ms_send", self._ms_send),
            (
                "GET POST",
                r"/google-accounts/o/oauth2/v2/auth",
                "google_authorize",
                self._google_authorize,
            ),
            ("POST", r"/google-oauth2/token", "google_token", self._google_token),
            ("POST", r"/google-oauth2/revoke", "google_revoke", self._google_revoke),
            (
                "POST",
                r"/google-gmail/gmail/v1/users/me/messages/send",
                "google_send",
                self._gmail_send,
            ),
        ]
        return [
            (tuple(methods.split()), re.compile(pattern), endpoint, handler)
            for methods, pattern, endpoint, handler in table
        ]

    def _handle(self, request: _Request) -> _Response | None:
        self._log(request)
        for methods, pattern, endpoint, handler in self._route_table:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if request.method not in methods:
                return _Response(405, b"", {"Allow": ", ".join(methods)})
            request.groups = {k: unquote(v) for k, v in match.groupdict().items()}
            with self._lock:
                queue = self._failures.get(endpoint)
                failure = queue.popleft() if queue else None
            if failure is not None:
                if failure.status == "drop":
                    return None
                if failure.status == "stall":
                    self._stopped.wait(failure.seconds)
                else:
                    return self._scripted(failure)
            try:
                return handler(request)
            except Exception as error:  # show the bug to the test instead of hanging
                with self._lock:
                    self.errors.append(f"{request.method} {request.path}: {error!r}")
                return _json(500, {"error": "standin_bug", "detail": repr(error)})
        return _json(404, {"error": "not_found", "detail": f"stand-in has no {request.path}"})

    def _scripted(self, failure: _Failure) -> _Response:
        assert isinstance(failure.status, int)
        headers: dict[str, str] = {}
        if isinstance(failure.body, dict):
            body = json.dumps(failure.body).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        elif isinstance(failure.body, str):
            body = failure.body.encode()
            headers["Content-Type"] = "text/plain; charset=utf-8"
        else:
            body = b""
        headers.update(failure.headers)
        return _Response(failure.status, body, headers)

    def _log(self, request: _Request) -> None:
        headers = {name.lower(): value for name, value in request.headers.items()}
        if "authorization" in headers:
            headers["authorization"] = headers["authorization"].split(" ")[0]
        keys = list(request.query)
        body_keys = request.form or (request.json if isinstance(request.json, dict) else {})
        keys += [key for key in body_keys if key not in keys]
        with self._lock:
            self._requests.append(LoggedRequest(request.method, request.path, headers, tuple(keys)))

    # -- shared token bookkeeping

    @staticmethod
    def _owned(grant: _Grant, email: str, provider: str | None) -> bool:
        return grant.account == email.lower() and provider in (None, grant.provider)

    def _refresh_valid(self, token: _RefreshToken) -> bool:
        if token.grant.revoked:
            return False
        return not (token.superseded and self.invalidate_old_refresh_tokens)

    def _new_token(self, provider: str, kind: str) -> str:
        prefixes = {
            (MICROSOFT, "code"): "0.AQ",
            (MICROSOFT, "access"): "EwB",
            (MICROSOFT, "refresh"): "0.AS",
            (GOOGLE, "code"): "4/0A",
            (GOOGLE, "access"): "ya29.a0",
            (GOOGLE, "refresh"): "1//0g",
        }
        return prefixes[provider, kind] + secrets.token_urlsafe(32)

    def _issue(self, grant: _Grant, with_refresh: bool) -> dict[str, Any]:
        """A successful token response for ``grant`` (caller holds the lock)."""
        lifetime = int(self.access_lifetime)
        access = _AccessToken(
            self._new_token(grant.provider, "access"), grant, time.monotonic() + lifetime
        )
        self._access_tokens[access.value] = access
        refresh: str | None = None
        if with_refresh:
            refresh = self._new_token(grant.provider, "refresh")
            self._refresh_tokens[refresh] = _RefreshToken(refresh, grant)
        now = int(time.time())
        if grant.provider == MICROSOFT:
            # https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#successful-response-2
            body: dict[str, Any] = {
                "token_type": "Bearer",
                "scope": grant.scope,
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": access.value,
            }
            if refresh:
                body["refresh_token"] = refresh
            if grant.openid:
                user = self._ms_users[grant.account]
                body["id_token"] = _jwt(
                    {
                        "iss": f"https://login.microsoftonline.com/{MICROSOFT_TENANT_ID}/v2.0",
                        "aud": grant.client_id,
                        "tid": MICROSOFT_TENANT_ID,
                        "oid": user.id,
                        "sub": user.id,
                        "preferred_username": user.email,
                        "email": user.mail,
                        "name": user.display_name,
                        "ver": "2.0",
                        "iat": now,
                        "nbf": now,
                        "exp": now + lifetime,
                        **({"nonce": grant.nonce} if grant.nonce else {}),
                    }
                )
            return body
        # https://developers.google.com/identity/protocols/oauth2/web-server#exchange-authorization-code
        # https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload
        user = self._google_users[grant.account]
        body = {
            "access_token": access.value,
            "expires_in": lifetime,
            "scope": grant.scope,
            "token_type": "Bearer",
        }
        if refresh:
            body["refresh_token"] = refresh
        body["id_token"] = _jwt(
            {
                "iss": "https://accounts.google.com",
                "azp": grant.client_id,
                "aud": grant.client_id,
                "sub": user.sub,
                "email": user.email,
                "email_verified": user.verified,
                "iat": now,
                "exp": now + lifetime,
                **({"nonce": grant.nonce} if grant.nonce else {}),
            }
        )
        return body

    def _bearer(self, request: _Request, provider: str) -> tuple[_AccessToken | None, str]:
        """The valid access token of the request, or None and why not."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None, "missing"
        with self._lock:
            token = self._access_tokens.get(value.strip())
            if token is None or token.grant.provider != provider:
                return None, "invalid"
            if token.grant.revoked or token.expires_at <= time.monotonic():
                return None, "expired"
            return token, ""

    def _client_ok(self, request: _Request, client_id: str, secret: str) -> tuple[str, str]:
        """Client authentication, client_secret_basic or client_secret_post.
        Returns ("", "") when fine, else (problem, presented client id)."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return "malformed", ""
            presented_id, _, presented_secret = decoded.partition(":")
            # RFC 6749 §2.3.1 form-encodes both; Authlib sends them as they are.
            ids = {presented_id, unquote_plus(presented_id)}
            secrets_ = {presented_secret, unquote_plus(presented_secret)}
        else:
            presented_id = request.form.get("client_id", "")
            ids = {presented_id}
            secrets_ = {request.form.get("client_secret", "")}
        if not presented_id:
            return "no_client", ""
        if client_id not in ids:
            return "unknown_client", presented_id
        if secrets_ == {""}:
            return "no_secret", presented_id
        if secret not in secrets_:
            return "bad_secret", presented_id
        return "", presented_id

    # -- authorize pages (both providers)

    def _authorize_problem(
        self, provider: str, params: dict[str, str], tenant: str | None
    ) -> tuple[str, str] | None:
        """(error, reason) when the authorize request is invalid, else None."""
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if provider == MICROSOFT:
            if not client_id:
                return "invalid_request", (
                    "AADSTS900144: The request body must contain the following parameter: "
                    "'client_id'."
                )
            if client_id != MICROSOFT_CLIENT_ID:
                return "unauthorized_client", (
                    f"AADSTS700016: Application with identifier '{client_id}' was not found "
                    f"in the directory '{tenant}'."
                )
        elif not client_id:
            return "invalid_request", "Missing required parameter: client_id"
        elif client_id != GOOGLE_CLIENT_ID:
            return "invalid_client", "The OAuth client was not found."
        if not re.match(r"https?://[^/?#]+", redirect_uri) or (
            self.allowed_redirect_uris and redirect_uri not in self.allowed_redirect_uris
        ):
            if provider == MICROSOFT:
                return "invalid_request", (
                    f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request "
                    "does not match the redirect URIs configured for the application "
                    f"'{client_id}'."
                )
            return "redirect_uri_mismatch", (
                f"The redirect URI in the request, {redirect_uri}, does not match the ones "
                "authorized for the OAuth client."
            )
        if params.get("response_type") != "code":
            return "unsupported_response_type", (
                f"stand-in: response_type must be 'code', not {params.get('response_type')!r}"
            )
        if params.get("response_mode", "query") != "query":
            return "invalid_request", "stand-in: only response_mode=query is implemented"
        if not params.get("state"):
            return "invalid_request", "stand-in: the request has no 'state'"
        challenge = params.get("code_challenge", "")
        if not re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge):
            return "invalid_request", (
                "stand-in: code_challenge must be a 43-character base64url S256 challenge "
                "(RFC 7636)"
            )
        if params.get("code_challenge_method") != "S256":
            return "invalid_request", "stand-in: code_challenge_method must be S256"
        scopes = params.get("scope", "").split()
        if provider == MICROSOFT:
            have = {_graph_scope(s).lower() for s in scopes}
            missing = [s for s in MICROSOFT_REQUIRED_SCOPES if s.lower() not in have]
        else:
            have = set(scopes)
            missing = [s for s in (GMAIL_SEND_SCOPE, "openid") if s not in have]
            if not have & {"email", GOOGLE_EMAIL_SCOPE}:
                missing.append("email")
        if missing:
            return "invalid_scope", f"stand-in: scope is missing {', '.join(missing)}"
        if provider == GOOGLE and params.get("access_type") != "offline":
            return "invalid_request", (
                "stand-in: access_type=offline is required to get a refresh token"
            )
        return None

    def _error_page(self, provider: str, error: str, reason: str) -> _Response:
        if provider == MICROSOFT:
            # Like login.microsoftonline.com: a bad client_id/redirect_uri is shown, not
            # redirected. https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
            body = (
                "<h1>Sorry, but we’re having trouble signing you in.</h1>\n"
                f'<p id="error">{html.escape(reason)}</p>'
            )
        else:
            # Like accounts.google.com's "Access blocked" page.
            # https://developers.google.com/identity/protocols/oauth2/web-server#authorization-errors
            body = (
                "<h1>Access blocked: This app’s request is invalid</h1>\n"
                f"<p>Error 400: {html.escape(error)}</p>\n"
                f'<p id="error">{html.escape(reason)}</p>'
            )
        return _Response(
            400, _page(_title(provider), body), {"Content-Type": "text/html; charset=utf-8"}
        )

    def _consent_page(
        self, provider: str, path: str, params: dict[str, str], *, admin: bool = False
    ) -> _Response:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k not in ("account", "action")
        )
        if admin:
            chooser = (
                "<h1>Permissions requested – accept for your organization</h1>\n"
                f"<p>{html.escape(params.get('scope', ''))}</p>\n"
            )
        else:
            with self._lock:
                users = self._ms_users if provider == MICROSOFT else self._google_users
                emails = [user.email for user in users.values()]
            hint = params.get("login_hint", "").lower()
            options = "".join(
                f'<option value="{html.escape(e)}"{" selected" if e.lower() == hint else ""}>'
                f"{html.escape(e)}</option>"
                for e in emails
            )
            chooser = (
                "<h1>Pick an account</h1>\n"
                f"<p>The app {html.escape(params.get('client_id', ''))} asks for: "
                f"{html.escape(params.get('scope', ''))}</p>\n"
                '<label for="account">Account</label>\n'
                f'<select id="account" name="account">{options}</select>\n'
            )
        body = (
            f'<form method="post" action="{html.escape(path)}">\n{hidden}\n{chooser}'
            '<button type="submit" name="action" value="accept">Accept</button>\n'
            '<button type="submit" name="action" value="cancel">Cancel</button>\n</form>'
        )
        return _Response(
            200, _page(_title(provider), body), {"Content-Type": "text/html; charset=utf-8"}
        )

    def _authorize(self, request: _Request, provider: str) -> _Response:
        params = {**request.query, **request.form}
        problem = self._authorize_problem(provider, params, request.groups.get("tenant"))
        if problem:
            return self._error_page(provider, *problem)
        if request.method == "GET":
            return self._consent_page(provider, request.path, params)
        redirect_uri, state = params["redirect_uri"], params["state"]
        action = params.get("action")
        if action == "cancel":
            # RFC 6749 §4.1.2.1 error redirect; Microsoft's text is AADSTS65004.
            description = (
                "AADSTS65004: User declined to consent to access the app."
                if provider == MICROSOFT
                else "The user denied access."
            )
            return _redirect(
                _with_query(
                    redirect_uri,
                    {"error": "access_denied", "error_description": description, "state": state},
                )
            )
        if action != "accept":
            return self._error_page(provider, "invalid_request", "stand-in: press Accept or Cancel")
        account = params.get("account", "").lower()
        with self._lock:
            users: dict[str, Any] = self._ms_users if provider == MICROSOFT else self._google_users
            if account not in users:
                return self._error_page(
                    provider, "invalid_request", f"stand-in: no such account {account!r}"
                )
            scopes = params["scope"].split()
            if provider == MICROSOFT:
                granted = [
                    s if s.lower().startswith(GRAPH_RESOURCE) else GRAPH_RESOURCE + s
                    for s in scopes
                    if s.lower() not in ("offline_access", "openid", "profile", "email")
                ] + [s for s in scopes if s.lower() in ("openid", "profile", "email")]
            else:
                granted = [GOOGLE_EMAIL_SCOPE if s == "email" else s for s in scopes]
                granted = list(dict.fromkeys(granted))
            code = _Code(
                value=self._new_token(provider, "code"),
                provider=provider,
                client_id=params["client_id"],
                redirect_uri=redirect_uri,
                challenge=params["code_challenge"],
                scope=" ".join(granted),
                account=account,
                nonce=params.get("nonce"),
                openid="openid" in scopes,
            )
            self._codes[code.value] = code
        result = {"code": code.value, "state": state}
        if provider == GOOGLE:
            result["scope"] = code.scope
        return _redirect(_with_query(redirect_uri, result))

    # https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code
    def _ms_authorize(self, request: _Request) -> _Response:
        return self._authorize(request, MICROSOFT)

    # https://developers.google.com/identity/protocols/oauth2/web-server#creatingclient
    # (authorization parameters; error=access_denied when the user declines)
    def _google_authorize(self, request: _Request) -> _Response:
        return self._authorize(request, GOOGLE)

    # https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent
    def _ms_admin_consent(self, request: _Request) -> _Response:
        params = {**request.query, **request.form}
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        if client_id != MICROSOFT_CLIENT_ID:
            return self._error_page(
                MICROSOFT,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
                f"directory '{request.groups.get('tenant')}'.",
            )
        # https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent: the
        # tenant must be a directory id or "organizations"; "common" does not work here.
        if request.groups.get("tenant") in ("common", "consumers"):
            return self._error_page(
                MICROSOFT,
                "invalid_request",
                "AADSTS90009: Application is requesting a token for itself. The admin consent "
                "endpoint needs a tenant id or 'organizations', not 'common'.",
            )
        if not re.match(r"https?://[^/?#]+", redirect_uri) or (
            self.allowed_redirect_uris and redirect_uri not in self.allowed_redirect_uris
        ):
            return self._error_page(
                MICROSOFT,
                "invalid_request",
                f"AADSTS50011: The redirect URI '{redirect_uri}' specified in the request does "
                f"not match the redirect URIs configured for the application '{client_id}'.",
            )
        if request.method == "GET":
            return self._consent_page(MICROSOFT, request.path, params, admin=True)
        state = params.get("state", "")
        if params.get("action") == "accept":
            with self._lock:
                self.admin_consents.append(
                    {"tenant": request.groups.get("tenant", ""), "scope": params.get("scope", "")}
                )
            result = {
                "admin_consent": "True",
                "tenant": MICROSOFT_TENANT_ID,
                "state": state,
                "scope": params.get("scope", ""),
            }
        else:
            result = {
                "error": "access_denied",
                "error_description": "AADSTS65004: User declined to consent to access the app.",
                "state": state,
            }
        return _redirect(_with_query(redirect_uri, result))

    # -- token endpoints

    def _token_error(
        self, provider: str, status: int, error: str, ms_text: str, google_text: str, aadsts: int
    ) -> _Response:
        """A token endpoint error in the provider's shape (``aadsts`` only for Microsoft)."""
        if provider == MICROSOFT:
            # https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#error-response-1
            return _json(status, aad_error(error, aadsts, ms_text), NO_STORE)
        # RFC 6749 §5.2 https://datatracker.ietf.org/doc/html/rfc6749#section-5.2 and
        # https://developers.google.com/identity/protocols/oauth2/web-server#exchange-authorization-code
        return _json(status, oauth_error(error, google_text), NO_STORE)

    # https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#redeem-a-code-for-an-access-token
    # https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token
    def _ms_token(self, request: _Request) -> _Response:
        return self._token(request, MICROSOFT)

    # https://developers.google.com/identity/protocols/oauth2/web-server#exchange-authorization-code
    # https://developers.google.com/identity/protocols/oauth2/web-server#offline
    def _google_token(self, request: _Request) -> _Response:
        return self._token(request, GOOGLE)

    def _token(self, request: _Request, provider: str) -> _Response:
        ms = provider == MICROSOFT
        fail = self._token_error
        client_id = MICROSOFT_CLIENT_ID if ms else GOOGLE_CLIENT_ID
        secret = MICROSOFT_CLIENT_SECRET if ms else GOOGLE_CLIENT_SECRET
        problem, presented = self._client_ok(request, client_id, secret)
        not_found = "The OAuth client was not found."
        if problem in ("no_client", "malformed"):
            if ms:
                text = "The request body must contain the following parameter: 'client_id'."
                return fail(provider, 400, "invalid_request", text, "", 900144)
            return fail(provider, 401, "invalid_client", "", not_found, 0)
        if problem == "unknown_client":
            if ms:
                text = f"Application with identifier '{presented}' was not found in the directory."
                return fail(provider, 400, "unauthorized_client", text, "", 700016)
            return fail(provider, 401, "invalid_client", "", not_found, 0)
        if problem == "no_secret":
            text = (
                "The request body must contain the following parameter: 'client_assertion' "
                "or 'client_secret'."
            )
            return fail(provider, 401, "invalid_client", text, "Unauthorized", 7000218)
        if problem == "bad_secret":
            text = (
                "Invalid client secret provided. Ensure the secret being sent in the request "
                "is the client secret value, not the client secret ID, for a secret added to "
                f"app '{client_id}'."
            )
            return fail(provider, 401, "invalid_client", text, "Unauthorized", 7000215)
        grant_type = request.form.get("grant_type", "")
        if grant_type == "authorization_code":
            return self._redeem_code(request, provider)
        if grant_type == "refresh_token":
            return self._refresh(request, provider)
        return fail(
            provider,
            400,
            "unsupported_grant_type",
            f"The app requested an unsupported grant type '{grant_type}'.",
            f"Invalid grant_type: {grant_type}",
            70003,
        )

    def _redeem_code(self, request: _Request, provider: str) -> _Response:
        fail = self._token_error
        form = request.form
        if not form.get("code"):
            text = "The request body must contain the following parameter: 'code'."
            return fail(
                provider, 400, "invalid_request", text, "Missing required parameter: code", 900144
            )
        with self._lock:
            code = self._codes.get(form["code"])
            if code is None or code.provider != provider:
                text = "Provided grant is invalid or malformed."
                return fail(provider, 400, "invalid_grant", text, "Malformed auth code.", 70000)
            if code.used:
                text = (
                    "OAuth2 Authorization code was already redeemed, please retry with a new "
                    "valid code or use an existing refresh token."
                )
                return fail(provider, 400, "invalid_grant", text, "Bad Request", 54005)
            if time.monotonic() - code.issued > CODE_LIFETIME:
                text = (
                    "The provided authorization code or refresh token has expired due to "
                    "inactivity."
                )
                return fail(provider, 400, "invalid_grant", text, "Bad Request", 70008)
            if form.get("redirect_uri") != code.redirect_uri:
                if provider == MICROSOFT:
                    text = "stand-in: redirect_uri does not match the authorization request."
                    return fail(provider, 400, "invalid_grant", text, "", 70000)
                return fail(provider, 400, "redirect_uri_mismatch", "", "Bad Request", 0)
            verifier = form.get("code_verifier", "")
            # RFC 7636 §4.6 https://datatracker.ietf.org/doc/html/rfc7636#section-4.6
            well_formed = re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier)
            if not well_formed or _s256(verifier) != code.challenge:
                text = (
                    "The code_verifier does not match the code_challenge supplied in the "
                    "authorization request for PKCE."
                )
                google_text = "Invalid code verifier." if verifier else "Missing code verifier."
                return fail(provider, 400, "invalid_grant", text, google_text, 50148)
            code.used = True
            grant = _Grant(
                provider, code.client_id, code.account, code.scope, code.nonce, code.openid
            )
            self._grants.append(grant)
            return _json(200, self._issue(grant, with_refresh=True), NO_STORE)

    def _refresh(self, request: _Request, provider: str) -> _Response:
        fail = self._token_error
        value = request.form.get("refresh_token", "")
        if not value:
            text = "The request body must contain the following parameter: 'refresh_token'."
            google_text = "Missing required parameter: refresh_token"
            return fail(provider, 400, "invalid_request", text, google_text, 900144)
        with self._lock:
            token = self._refresh_tokens.get(value)
            if token is not None and token.grant.provider == provider:
                self._refresh_counts[provider, token.grant.account] += 1
        if self.refresh_delay:
            self._stopped.wait(self.refresh_delay)  # lets two refreshes overlap
        with self._lock:
            if token is None or token.grant.provider != provider:
                text = "Invalid request. Request is malformed or invalid."
                return fail(provider, 400, "invalid_grant", text, "Bad Request", 9002313)
            if not self._refresh_valid(token):
                issued = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
                text = (
                    "The refresh token has expired due to inactivity. The token was issued on "
                    f"{issued} and was inactive for 90.00:00:00."
                )
                google_text = "Token has been expired or revoked."
                return fail(provider, 400, "invalid_grant", text, google_text, 700082)
            if provider == MICROSOFT:  # Microsoft rotates: a new refresh token every time
                token.superseded = True
                return _json(200, self._issue(token.grant, with_refresh=True), NO_STORE)
            return _json(200, self._issue(token.grant, with_refresh=False), NO_STORE)

    # RFC 7009 https://datatracker.ietf.org/doc/html/rfc7009#section-2
    # https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke
    def _google_revoke(self, request: _Request) -> _Response:
        value = request.form.get("token") or request.query.get("token", "")
        with self._lock:
            token: _AccessToken | _RefreshToken | None = self._access_tokens.get(
                value
            ) or self._refresh_tokens.get(value)
            valid = (
                token is not None
                and token.grant.provider == GOOGLE
                and not token.grant.revoked
                and (not isinstance(token, _AccessToken) or token.expires_at > time.monotonic())
            )
            if not valid:
                return _json(400, oauth_error("invalid_token", "Token expired or revoked"))
            assert token is not None
            token.grant.revoked = True  # Google revokes the whole grant
            self._revoked.append(value)
        return _Response(200, b"", {"Content-Type": "application/json; charset=utf-8"})

    # -- Microsoft Graph

    def _graph_json(self, request: _Request, status: int, code: str, message: str) -> _Response:
        # https://learn.microsoft.com/en-us/graph/errors
        client_request_id = request.headers.get("client-request-id")
        body = graph_error(code, message, client_request_id=client_request_id)
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = (
                'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/'
                f'oauth2/authorize", client_id="{MICROSOFT_CLIENT_ID}"'
            )
        return _json(status, body, headers)

    def _graph_auth(self, request: _Request) -> tuple[MicrosoftUser | None, _Response | None]:
        token, why = self._bearer(request, MICROSOFT)
        if token is None:
            # https://learn.microsoft.com/en-us/graph/errors (401 InvalidAuthenticationToken)
            message = "Access token is empty." if why == "missing" else GRAPH_TOKEN_EXPIRED
            return None, self._graph_json(request, 401, "InvalidAuthenticationToken", message)
        with self._lock:
            return self._ms_users[token.grant.account], None

    # https://learn.microsoft.com/en-us/graph/api/user-get?view=graph-rest-1.0
    def _ms_me(self, request: _Request) -> _Response:
        user, problem = self._graph_auth(request)
        if problem:
            return problem
        assert user is not None
        return _json(
            200,
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
                "businessPhones": [],
                "displayName": user.display_name,
                "givenName": user.display_name.split(" ")[0],
                "jobTitle": None,
                "mail": user.mail,
                "mobilePhone": None,
                "officeLocation": None,
                "preferredLanguage": "en-US",
                "surname": None,
                "userPrincipalName": user.email,
                "id": user.id,
            },
        )

    # https://learn.microsoft.com/en-us/graph/api/user-sendmail?view=graph-rest-1.0
    # MIME form: Content-Type text/plain, body = base64 of the MIME message, 202 Accepted.
    # Error codes: https://learn.microsoft.com/en-us/graph/errors
    def _ms_send(self, request: _Request) -> _Response:
        user, problem = self._graph_auth(request)
        if problem:
            return problem
        assert user is not None
        target = request.groups.get("user")
        if target is None or target.lower() in (user.id, user.email.lower(), user.mailbox.lower()):
            sender = user.mailbox
            if not user.licensed:
                return self._graph_json(
                    request, 404, "MailboxNotEnabledForRESTAPI", GRAPH_MAILBOX_NOT_ENABLED
                )
        elif target.lower() in (s.lower() for s in user.send_as):
            sender = target
        else:
            sender = ""  # not allowed: answered after the MIME checks
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "text/plain":
            text = (
                "stand-in: only the MIME form (Content-Type: text/plain) is implemented, "
                f"not {content_type!r}."
            )
            return self._graph_json(request, 400, "ErrorMimeContentInvalid", text)
        try:
            encoded = "".join(request.body.decode("ascii").split())
            raw = base64.b64decode(encoded, validate=True)
        except (UnicodeDecodeError, binascii.Error, ValueError):
            text = "Invalid base64 string for MIME content."
            return self._graph_json(request, 400, "ErrorMimeContentInvalidBase64String", text)
        message = _parse_message(raw) if raw else None
        if message is None:
            return self._graph_json(
                request, 400, "ErrorMimeContentInvalid", "Invalid MIME content."
            )
        from_addr = _addresses(message, "From")[0][1]
        if not sender or from_addr.lower() != sender.lower():
            return self._graph_json(request, 403, "ErrorSendAsDenied", GRAPH_SEND_AS_DENIED)
        recipients = [address for _, address in _addresses(message, "To", "Cc", "Bcc")]
        if not recipients:
            text = "At least one recipient is not valid., A message can't be sent because it contains no recipients."
            return self._graph_json(request, 400, "ErrorInvalidRecipients", text)
        for address in recipients:
            if _bad_recipient(address):
                text = (
                    f"At least one recipient is not valid., Recipient '{address}' is not "
                    "resolved. All recipients must be resolved before a message can be submitted."
                )
                return self._graph_json(request, 400, "ErrorInvalidRecipients", text)
        delivered = raw
        if message["Message-ID"] is None:  # Exchange assigns one
            generated = f"<STANDIN{secrets.token_hex(12).upper()}@standin.prod.outlook.com>"
            delivered = _replace_header(raw, "Message-ID", generated)
        self._record(
            SentMessage(
                provider=MICROSOFT,
                account=user.email,
                path=request.path,
                from_addr=from_addr,
                to=recipients,
                message_id=None,
                provider_id=None,
                raw=delivered,
                submitted=raw,
            )
        )
        return _Response(202, b"")

    # -- Gmail

    def _gmail_json(
        self, status: int, reason: str, message: str, status_name: str = "INVALID_ARGUMENT"
    ) -> _Response:
        # https://developers.google.com/gmail/api/guides/handle-errors
        headers = {}
        if status == 401:
            headers["WWW-Authenticate"] = (
                'Bearer realm="https://accounts.google.com/", error="invalid_token"'
            )
        return _json(status, gmail_error(status, reason, message, status_name), headers)

    # https://developers.google.com/gmail/api/reference/rest/v1/users.messages/send
    # Errors: https://developers.google.com/gmail/api/guides/handle-errors
    def _gmail_send(self, request: _Request) -> _Response:
        token, _why = self._bearer(request, GOOGLE)
        if token is None:
            return self._gmail_json(401, "authError", GMAIL_UNAUTHENTICATED, "UNAUTHENTICATED")
        with self._lock:
            user = self._google_users[token.grant.account]
        payload = request.json
        if not isinstance(payload, dict):
            return self._gmail_json(400, "parseError", "Invalid JSON payload received.")
        encoded = payload.get("raw")
        if not isinstance(encoded, str) or not encoded:
            return self._gmail_json(400, "invalidArgument", GMAIL_RAW_REQUIRED)
        # Proto3 JSON bytes: standard or URL-safe base64, with or without padding.
        # https://protobuf.dev/programming-guides/json/
        text = encoded.strip().rstrip("=").replace("+", "-").replace("/", "_")
        try:
            if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
                raise ValueError(text)
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            text = "Invalid value at 'message.raw' (TYPE_BYTES), Base64 decoding failed"
            return self._gmail_json(400, "invalid", text)
        try:
            message = email.message_from_bytes(raw, policy=email.policy.default)
            recipients = _addresses(message, "To", "Cc", "Bcc")
            from_addresses = _addresses(message, "From")
        except Exception:
            return self._gmail_json(400, "invalidArgument", "Invalid From header")
        if not recipients:
            return self._gmail_json(400, "invalidArgument", "Recipient address required")
        for header, address in recipients:
            if _bad_recipient(address):
                return self._gmail_json(400, "invalidArgument", f"Invalid {header} header")
        delivered = raw
        allowed = {user.email.lower(), *(alias.lower() for alias in user.aliases)}
        from_addr = from_addresses[0][1] if from_addresses else ""
        if from_addr.lower() not in allowed:
            # Gmail replaces a From it may not send as with the account's own address.
            names = [
                address.display_name
                for value in message.get_all("From", [])
                for address in getattr(value, "addresses", ())
            ]
            from_addr = user.email
            new_from = email.utils.formataddr((names[0] if names else "", user.email), "utf-8")
            delivered = _replace_header(delivered, "From", new_from)
        if self.rewrite_message_id or message["Message-ID"] is None:
            gmail_id = f"<CA{_b64url(secrets.token_bytes(30))}@mail.gmail.com>"
            delivered = _replace_header(delivered, "Message-ID", gmail_id)
        provider_id = secrets.token_hex(8)
        references = " ".join(str(message[h] or "") for h in ("In-Reply-To", "References"))
        record = SentMessage(
            provider=GOOGLE,
            account=user.email,
            path=request.path,
            from_addr=from_addr,
            to=[address for _, address in recipients],
            message_id=None,
            provider_id=provider_id,
            raw=delivered,
            submitted=raw,
        )
        with self._lock:
            thread_id = str(payload.get("threadId") or "") or next(
                (self._thread_of[r] for r in references.split() if r in self._thread_of),
                provider_id,
            )
            record.thread_id = thread_id
            self._record(record)
            if record.message_id:
                self._thread_of[record.message_id] = thread_id
        return _json(200, {"id": provider_id, "threadId": thread_id, "labelIds": ["SENT"]})

    def _record(self, record: SentMessage) -> None:
        value = record.message["Message-ID"]
        record.message_id = str(value).strip() if value is not None else None
        with self._cond:
            self._sent.append(record)
            self._cond.notify_all()


def _page_reason(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    match = re.search(r'<p id="error">(.*?)</p>', text, re.S)
    return html.unescape(match.group(1)) if match else text[:500]
