"""Sending routes: the ways a prepared message leaves. Each has open(), send(message)
(which returns the provider's id for the message, or "") and close(), and raises only
SendFailure; the outbox does not know which one it drives.

- SMTPRoute: the tenant's own server, at the addresses the host guard checked.
- GatewayRoute: the platform's gateway; its own trouble is the operator's, so tenants
  see a neutral, temporary failure, never the gateway's address or login advice.
- MicrosoftGraphRoute and GmailRoute (routes.api_routes): a mailbox connected
  with OAuth, through the provider's HTTPS API.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from routes import secrets
from routes.api_routes import API_ROUTES, api_route
from routes.failures import CREDENTIALS_UNREADABLE, Scope, SendFailure, Stage
from routes.hostguard import FORBIDDEN_SENTENCE, CheckedHost, HostRefused, ResolveFailed, check_host
from routes.hostguard import resolve as resolve_host
from routes.messages import PreparedMessage
from routes.models import OutgoingEmailSettings, UseServer
from routes.smtp import MailServer, SMTPConnection

logger = logging.getLogger(__name__)


class Route(Protocol):
    def open(self) -> None: ...

    def send(self, message: PreparedMessage) -> str: ...

    def close(self) -> None: ...


class SMTPRoute:
    """One SMTP connection for many messages. Each message (and one reconnect for it, when
    the server dropped the idle connection) gets the whole SMTP_DEADLINE, so one slow
    server cannot hold a worker for long."""

    def __init__(
        self, server: MailServer, *, timeout: float | None = None, deadline: float | None = None
    ):
        self.connection = SMTPConnection(server, timeout=timeout)
        self.deadline = deadline  # one fixed deadline (the test message), else per message
        self.used = False

    def _arm_deadline(self) -> None:
        deadline = self.deadline or time.monotonic() + settings.SMTP_DEADLINE
        self.connection.set_deadline(deadline)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> None:
        self._arm_deadline()
        self.connection.open()

    def send(self, message: PreparedMessage) -> str:
        self._arm_deadline()
        try:
            self.connection.send(message)
        except SendFailure as failure:
            idle_drop = failure.stage == Stage.MAIL and (
                failure.code == "dropped" or failure.smtp_code == 421
            )
            if not (self.used and idle_drop):
                raise
            self.connection.close()
            self.used = False
            self.connection.send(message)  # opens a fresh connection; a failure now is final
        self.used = True
        return ""

    def close(self) -> None:
        self.connection.close()


class GatewayRoute(SMTPRoute):
    def open(self) -> None:
        try:
            super().open()
        except SendFailure as failure:
            raise _gateway_trouble(failure) from None

    def send(self, message: PreparedMessage) -> str:
        try:
            return super().send(message)
        except SendFailure as failure:
            if failure.scope == Scope.ROUTE:
                raise _gateway_trouble(failure) from None
            raise


def _gateway_trouble(failure: SendFailure) -> SendFailure:
    logger.error(
        "Default gateway failed at %s: %s (%s)", failure.stage, failure.code, failure.server_said()
    )
    return _gateway_unavailable(failure.stage)


def _gateway_unavailable(stage: str) -> SendFailure:
    return SendFailure(
        code="gateway_unavailable",
        message="YayPay's email gateway could not take this email just now.",
        hint="It will be tried again automatically.",
        temporary=True,
        stage=stage,
        scope=Scope.ROUTE,
    )


def route_for(
    config: OutgoingEmailSettings,
    *,
    timeout: float,
    checked: CheckedHost | None = None,
    deadline: float | None = None,
) -> Route:
    """The route the tenant's settings choose. Raises SendFailure when it cannot be set up:
    `host_refused` (the guard said no; nothing was tried), `secret_unreadable` (the
    operator's keys cannot open the stored password), or a temporary DNS failure."""
    if config.use_server in API_ROUTES:
        return api_route(
            config.use_server,
            tenant_id=config.tenant_id,
            from_email=config.from_email,
            timeout=min(timeout, settings.OAUTH_HTTP_TIMEOUT),
        )
    if config.use_server == UseServer.SMTP:
        server = tenant_server(config, timeout=timeout, checked=checked)
        return SMTPRoute(server, timeout=timeout, deadline=deadline)
    return GatewayRoute(gateway_server(timeout=timeout), timeout=timeout, deadline=deadline)


def gateway_server(*, timeout: float) -> MailServer:
    """The operator's gateway. The tenant host guard does not apply to it."""
    gateway = settings.DEFAULT_GATEWAY
    try:
        addresses = resolve_host(gateway["HOST"], gateway["PORT"], timeout=timeout)
    except ResolveFailed as error:
        logger.error("Default gateway does not resolve: %s", error)
        raise _gateway_unavailable(Stage.CONNECT) from None
    return MailServer(
        host=gateway["HOST"],
        port=gateway["PORT"],
        encryption=gateway["ENCRYPTION"],
        addresses=addresses,
        username=gateway["USERNAME"],
        password=gateway["PASSWORD"],
    )


@sensitive_variables("password")
def tenant_server(
    config: OutgoingEmailSettings, *, timeout: float, checked: CheckedHost | None = None
) -> MailServer:
    """The tenant's own server, at addresses the host guard checked."""
    try:
        if checked is None:
            checked = check_host(config.host, config.port or 0, timeout=timeout)
    except HostRefused as error:
        raise _refused(error) from None
    try:
        password = secrets.decrypt(config.password_encrypted) if config.password_encrypted else ""
    except secrets.SecretUnreadable:
        raise SendFailure(
            code="secret_unreadable",
            message=CREDENTIALS_UNREADABLE,
            hint="The stored password cannot be decrypted with the operator's keys. "
            "If this lasts, type the password again in Settings | Email | Outgoing emails.",
            temporary=True,
            stage=Stage.AUTH,
            scope=Scope.ROUTE,
        ) from None
    return MailServer(
        host=checked.name,
        port=checked.port,
        encryption=config.encryption,
        addresses=checked.addresses,
        username=config.username,
        password=password,
    )


def _refused(error: HostRefused) -> SendFailure:
    if error.unresolved:  # DNS trouble: worth retrying, unlike a refused address
        return SendFailure(
            code="connect_failed",
            message="Mail server connection failed. Couldn't connect to host. Its name did not resolve.",
            hint="It will be tried again; if it keeps failing, check the SMTP Server.",
            temporary=True,
            stage=Stage.CONNECT,
            scope=Scope.ROUTE,
        )
    logger.warning("Host guard refused a tenant's server: %s", error.reason)
    return SendFailure(
        code="host_refused",
        message=FORBIDDEN_SENTENCE,
        hint="Fix Settings | Email | Outgoing emails.",
        stage=Stage.CONNECT,
        scope=Scope.ROUTE,
    )
