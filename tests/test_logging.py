"""setup_logging: the one place logging is configured."""

from __future__ import annotations

import io
import json
import logging

import pytest

from eventix_cli.logging import parse_level, redact, setup_logging


@pytest.fixture
def stream():
    buffer = io.StringIO()
    yield buffer
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "eventix-cli":
            root.removeHandler(handler)


def test_text_format_with_prefix(stream: io.StringIO) -> None:
    setup_logging("INFO", "text", "[WORKER-w1]", stream=stream)
    logging.getLogger("eventix_cli.test").info("hello %s", "there")
    logging.getLogger("eventix_cli.test").debug("hidden")
    line = stream.getvalue().strip()
    assert line.endswith("[    INFO][WORKER-w1] hello there")
    assert "hidden" not in stream.getvalue()


def test_json_format(stream: io.StringIO) -> None:
    setup_logging("DEBUG", "json", stream=stream, fields={"worker_id": "w1"})
    logging.getLogger("x").warning("done", extra={"task_uid": "u1", "duration_ms": 3})
    entry = json.loads(stream.getvalue())
    assert entry["level"] == "WARNING"
    assert entry["message"] == "done"
    assert entry["worker_id"] == "w1"
    assert entry["task_uid"] == "u1"
    assert entry["time"].endswith("Z")


def test_called_twice_keeps_one_handler(stream: io.StringIO) -> None:
    setup_logging("INFO", stream=stream)
    setup_logging("INFO", stream=stream)
    logging.getLogger("y").info("once")
    assert stream.getvalue().count("once") == 1


def test_tokens_redacted(stream: io.StringIO) -> None:
    setup_logging("DEBUG", stream=stream)
    logging.getLogger("z").debug("headers %s", {"Authorization": "Bearer abc.def-123"})
    assert "abc.def-123" not in stream.getvalue()
    assert "Bearer ***" in stream.getvalue()
    assert redact("Authorization: bearer xyz") == "Authorization: bearer ***"


def test_parse_level() -> None:
    assert parse_level("debug") == logging.DEBUG
    assert parse_level("warn") == logging.WARNING
    with pytest.raises(ValueError, match="unknown log level"):
        parse_level("loud")


def test_a_text_record_is_one_line_whatever_its_arguments(stream: io.StringIO) -> None:
    setup_logging("INFO", stream=stream)
    log = logging.getLogger("eventix_cli.test")
    log.info("event %s posted", "e\n2026-01-01 00:00:00,000 [    INFO] forged\r\x1b[2J\u202e")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed on %s", "a\nb")
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("event e\\n2026-01-01 00:00:00,000 [    INFO] forged\\r\\e[2J\\u202e posted")
    assert lines[1].endswith("failed on a\\nb")
    assert lines[2] == "Traceback (most recent call last):"  # a traceback keeps its lines
