"""The one place logging is configured: :func:`setup_logging`.

Commands call it once at start; nothing configures logging at import time. Logs go to
stderr (stdout carries data only). Bearer tokens are redacted from every record; control
characters in a text record's message are escaped.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import IO, Literal

from eventix_cli.core.text import escape

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s [%(levelname)8s]{prefix} %(message)s"
_BEARER = re.compile(r"(Bearer\s+)[^\s'\",}]+", re.IGNORECASE)
_HANDLER_NAME = "eventix-cli"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def redact(text: str) -> str:
    """Replace bearer tokens in ``text`` with ``***``."""
    return _BEARER.sub(r"\1***", text)


class RedactingFilter(logging.Filter):
    """Masks bearer tokens in a record's final message, whatever logger produced it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def __init__(self, prefix_fields: dict[str, str] | None = None) -> None:
        super().__init__()
        self.prefix_fields = prefix_fields or {}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **self.prefix_fields,
        }
        for key in ("task_uid", "task_name", "status", "duration_ms", "namespace", "worker_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc_info"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class _UtcTextFormatter(logging.Formatter):
    """Times in UTC; each message one line: its control characters (a newline in an event
    name, a terminal escape in a task name, from whichever client) become visible escapes,
    so no logged text forges a line or restyles the operator's screen. A traceback, which
    follows the message, keeps its lines."""

    converter = time.gmtime

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape(record.message)
        return super().formatMessage(record)


def parse_level(level: str | int) -> int:
    """A logging level from a name (any case) or number; ``ValueError`` when unknown."""
    if isinstance(level, int):
        return level
    name = level.strip().upper()
    if name == "WARN":
        name = "WARNING"
    if name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}: use one of {', '.join(LEVELS)}")
    return logging.getLevelNamesMapping()[name]


def setup_logging(
    level: str | int = "WARNING",
    fmt: LogFormat = "text",
    prefix: str = "",
    *,
    stream: IO[str] | None = None,
    fields: dict[str, str] | None = None,
) -> logging.Handler:
    """Configure the root logger once: level, text or JSON format, a prefix, token redaction.

    ``prefix`` is inserted after the level in text format, e.g. ``[WORKER-w1]``; ``fields``
    are added to every JSON record (e.g. ``{"worker_id": "w1"}``). Calling it again replaces
    the handler it installed before instead of adding a second one.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
            handler.close()

    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(fields))
    else:
        formatter = _UtcTextFormatter(TEXT_FORMAT.format(prefix=prefix))
        handler.setFormatter(formatter)
    root.addHandler(handler)
    numeric = parse_level(level)
    root.setLevel(numeric)
    # httpx/httpcore chatter only when the user asked for DEBUG
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)
    return handler
