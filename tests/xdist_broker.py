"""Loaded with `-p tests.xdist_broker` before Django reads its settings: under
pytest-xdist, each worker process gets its own Redis database for Celery, so the real
Celery workers that one test file starts never take the tasks of another file's test
running at the same time in the other process (each process also has its own test
database, which pytest-django names per worker)."""

from __future__ import annotations

import os
import re

worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if worker.startswith("gw") and worker[2:].isdigit() and int(worker[2:]) > 0:
    offset = 3 * int(worker[2:])
    url = os.environ.get("CELERY_BROKER_URL", "")
    match = re.fullmatch(r"(redis://[^/]+)/(\d+)", url)
    if match:
        os.environ["CELERY_BROKER_URL"] = f"{match[1]}/{(int(match[2]) - offset) % 16}"
    # The fault drills fall back to their own database when no broker is configured.
    os.environ.setdefault("FAULT_DRILL_BROKER_DB", str((13 - offset) % 16))
