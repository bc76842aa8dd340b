"""Warm shutdown of a sending worker: on SIGTERM the message being sent is finished and
recorded, and the unsent rest of the batch goes back to the queue at once, instead of
waiting out its lease.

Celery's shutdown signal fires in the main process only, while batches run in the
prefork children. A child's SIGTERM handler cannot be installed once at
worker_process_init: billiard installs its own right after that signal (one that
raises SystemExit wherever the child is, even in the middle of a send). So the
handler is installed around each batch, in the process's main thread, and the
previous one is called once the batch has stopped cleanly. The main process passes a
warm shutdown on to its children, so a SIGTERM to it alone (docker stop, Kubernetes)
stops the batches the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger("outbox.delivery")

_stop = threading.Event()


def stop_requested() -> bool:
    return _stop.is_set()


def _on_sigterm(signum, frame) -> None:
    _stop.set()


@contextmanager
def stop_gracefully_on_sigterm() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread (eager tasks in a web thread)
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if _stop.is_set():
            _stop.clear()
            logger.info("SIGTERM: batch stopped cleanly; the process exits now")
            _deliver(previous)


def _deliver(handler) -> None:
    """Now act on the SIGTERM as the process would have without us."""
    if callable(handler):
        handler(signal.SIGTERM, None)
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), signal.SIGTERM)


def pass_on_to_children(**kwargs) -> None:
    """worker_shutting_down, in Celery's main process: tell the pool's children."""
    from billiard.process import active_children

    for child in active_children():
        try:
            os.kill(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
