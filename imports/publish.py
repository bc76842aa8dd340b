"""Handing an import's task to a worker once the transaction commits, as the outbox
does: a broker that is down must not fail the admin's request. A check that could not
be published waits for beat's sweep (tasks.resend_stalled_imports), which sends it
again within a few minutes; an import that could not be published goes back to checked
(jobs.unconfirm), for the admin to confirm again.

It imports neither jobs nor tasks: the callers pass the task, so that tasks may use it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from yaypay_mail.publish import publish, publish_on_commit

logger = logging.getLogger(__name__)


def send(task, job_id: int) -> bool:
    """Publish `task(job_id)` now; False (logged) when the broker cannot be reached."""
    return publish(task, job_id, on_failure=partial(_log_not_sent, task, job_id))


def send_on_commit(task, job_id: int, *, on_failure: Callable[[int], None] | None = None) -> None:
    """Publish `task(job_id)` once the transaction commits; `on_failure(job_id)` runs
    when the broker cannot be reached."""

    def failed(error: Exception) -> None:
        _log_not_sent(task, job_id, error)
        if on_failure is not None:
            on_failure(job_id)

    publish_on_commit(task, job_id, on_failure=failed)


def _log_not_sent(task, job_id: int, error: Exception) -> None:
    logger.error(
        "Broker unreachable: %s for import %s not sent (%s)",
        task.name,
        job_id,
        error,
        extra={"job_id": job_id},
    )
