"""Log formatters. LOG_FORMAT=json writes one JSON object a line (python-json-logger);
the default plain text appends the same `extra` fields as key=value.

Settings import nothing from here: LOGGING names these classes by dotted path.
"""

from __future__ import annotations

import logging

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

# What every LogRecord has; anything else on a record came from `extra`.
_STANDARD = frozenset(RESERVED_ATTRS) | {"message", "asctime"}
# Django attaches the request (or runserver's socket) to its own records; its message
# already names the method and path, and the object's repr is noise on a text line.
_PLAIN_SKIPPED = frozenset({"request"})


def record_extras(record: logging.LogRecord) -> dict[str, object]:
    return {key: value for key, value in record.__dict__.items() if key not in _STANDARD}


def _plain_value(value: object) -> str:
    text = str(value)
    if not text or any(ch.isspace() or ch in '"=' for ch in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class PlainFormatter(logging.Formatter):
    """`2026-11-26 09:00:00,123 INFO outbox.delivery delivered tenant_id=3 ...`"""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, **kwargs) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s %(message)s", datefmt, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = {k: v for k, v in record_extras(record).items() if k not in _PLAIN_SKIPPED}
        if not extras:
            return text
        first, sep, rest = text.partition("\n")  # keep a traceback after the key=value pairs
        pairs = " ".join(f"{key}={_plain_value(value)}" for key, value in extras.items())
        return f"{first} {pairs}{sep}{rest}"


class JsonFormatter(_JsonFormatter):
    """{"timestamp": ..., "level": ..., "logger": ..., "message": ..., <extras>}"""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        super().__init__(*args, **kwargs)


class ClientErrors(logging.Filter):
    """On `django.request`: a 4xx is the client's mistake, one line is enough.

    Django logs every 4xx there, a 403 from PermissionDenied with its whole traceback.
    The traceback goes (403, 404); with `drop` (development, where runserver's own
    `django.server` line already names the request and its status) the record goes,
    so each 4xx shows once. Errors (5xx) keep everything.
    """

    def __init__(self, drop: bool = False) -> None:
        super().__init__()
        self.drop = drop

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if not isinstance(status, int) or not 400 <= status < 500:
            return True
        if self.drop:
            return False
        if status in (403, 404):
            record.exc_info = record.exc_text = None
        return True


class HealthProbes(logging.Filter):
    """On `django.server`: a 503 of /healthz says that a dependency is not ready (the
    view logs which, as a warning), not that the app failed; not an ERROR line."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_line = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        if isinstance(request_line, str) and request_line.split(" ")[1:2] == ["/healthz"]:
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
