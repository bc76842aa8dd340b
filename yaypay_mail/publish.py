"""Handing a task to the broker once the transaction commits, never failing the request
that asked. What a broker outage costs is the caller's to say, in its `on_failure`:
beat's drain repeats deliveries, a sweep sends import checks again, a reset link can be
asked for again."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.db import transaction
from kombu.exceptions import OperationalError

# What publishing raises when the broker cannot be reached, after kombu's own retries
# (ConnectionError and socket errors are OSErrors).
BROKER_DOWN = (OperationalError, OSError)

OnFailure = Callable[[Exception], None]


def publish(task, *args, on_failure: OnFailure) -> bool:
    """`task.delay(*args)` now; on a broker outage `on_failure(error)`, and False."""
    try:
        task.delay(*args)
    except BROKER_DOWN as error:
        on_failure(error)
        return False
    return True


def publish_on_commit(task, *args, on_failure: OnFailure) -> None:
    """`task.delay(*args)` once the surrounding transaction commits (at once outside
    one), so a worker never looks for rows that are not there yet."""
    transaction.on_commit(partial(publish, task, *args, on_failure=on_failure))
