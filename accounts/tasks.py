from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def send_password_reset(login: str, base_url: str = "") -> None:
    """Mail the reset link if `login` (a normalised address) has an account.

    `base_url` is ignored: tasks queued before SITE_URL carried the request's Host.

    A gateway failure is logged, not retried (no task here uses a countdown): the
    user can ask again. It never reaches the request, even with eager tasks."""
    from routes.failures import SendFailure

    from .reset_limit import may_mail
    from .reset_mail import send_reset_mail

    if not may_mail(login):
        logger.info("Password reset mail not sent: the address had its mails for this hour")
        return
    try:
        send_reset_mail(login=login)
    except SendFailure as failure:
        logger.warning("Password reset mail not sent: %s %s", failure.message, failure.hint)
