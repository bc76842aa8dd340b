"""Warm shutdown of a sending worker: on SIGTERM the unsent part of a batch goes back to
the queue at once, instead of waiting out its lease.

Celery's shutdown signal fires in the main process only, while batches run in the
prefork children, so each child installs its own SIGTERM handler when it starts
(worker_process_init). The main process passes a warm shutdown on to its children,
so a SIGTERM to the main process alone (docker stop, Kubernetes) works the same.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

logger = logging.getLogger("communications.delivery")

_stop = threading.Event()
_in_batch = threading.Event()


def stop_requested() -> bool:
    return _stop.is_set()


class sending:
    """Marks the time a batch is being sent: a SIGTERM then only asks it to stop."""

    def __enter__(self):
        _in_batch.set()

    def __exit__(self, *exc_info):
        _in_batch.clear()


def _on_sigterm(signum, frame) -> None:
    _stop.set()
    if not _in_batch.is_set():
        exit_now()


def exit_now() -> None:
    """Die as SIGTERM would have: Celery's main process sees the child gone and, with
    late acks, puts its task back on the queue (a drain is safe to run twice)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def install_in_child(**kwargs) -> None:
    _stop.clear()
    signal.signal(signal.SIGTERM, _on_sigterm)


def pass_on_to_children(**kwargs) -> None:
    from billiard.process import active_children

    for child in active_children():
        try:
            os.kill(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
