"""Publishing the password reset task: on commit, and never failing the request."""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def enqueue_password_reset(login: str) -> None:
    """Ask a worker to mail `login` its reset link once the transaction commits."""
    transaction.on_commit(partial(_publish, login))


def _publish(login: str) -> None:
    """With the broker down the mail is lost, but the page answers as usual (it must not
    tell whether the address has an account); the user can ask again."""
    from .tasks import send_password_reset

    try:
        send_password_reset.delay(login)
    except (OperationalError, ConnectionError) as error:
        logger.error(
            "Broker unreachable (%s); a password reset mail was not sent",
            error.__class__.__name__,
        )
