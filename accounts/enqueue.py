"""Publishing the password reset task: on commit, and never failing the request."""

from __future__ import annotations

import logging

from yaypay_mail.publish import publish_on_commit

from .tasks import send_password_reset

logger = logging.getLogger(__name__)


def enqueue_password_reset(login: str) -> None:
    """Ask a worker to mail `login` its reset link once the transaction commits. With the
    broker down the mail is lost, but the page answers as usual (it must not tell
    whether the address has an account); the user can ask again."""
    publish_on_commit(send_password_reset, login, on_failure=_log_lost)


def _log_lost(error: Exception) -> None:
    logger.error(
        "Broker unreachable (%s); a password reset mail was not sent",
        error.__class__.__name__,
    )
