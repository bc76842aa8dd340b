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
