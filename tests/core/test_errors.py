"""Every error body format of the API becomes a typed exception with the right exit code."""

from __future__ import annotations

import json

import pytest

from eventix_cli.client.error_answers import error_from_answer
from eventix_cli.core.errors import (
    AlreadyExists,
    ApiError,
    ExitCode,
    NoTaskFoundForUniqueKey,
    RevisionConflict,
    ServerError,
    TaskNotFound,
    TaskNotRegistered,
    TaskUniqueKeyNotUnique,
    UnexpectedResponse,
    ValidationFailed,
    WrongTaskStatus,
    format_error,
)


def _domain(cls: str, status: int, message: str = "boom", payload: dict | None = None) -> bytes:
    return json.dumps(
        {
            "error_class": cls,
            "error_message": message,
            "error_status_code": status,
            "error_traceback": "Traceback (most recent call last):\n  ...\n",
            "error_payload": payload or {},
        }
    ).encode()


@pytest.mark.parametrize(
    ("name", "status", "expected", "exit_code"),
    [
        ("NotFound", 404, TaskNotFound, ExitCode.REJECTED),
        ("AlreadyExists", 409, AlreadyExists, ExitCode.REJECTED),
        ("RevisionConflict", 409, RevisionConflict, ExitCode.REJECTED),
        ("WrongTaskStatus", 422, WrongTaskStatus, ExitCode.REJECTED),
        ("NoTaskFoundForUniqueKey", 404, NoTaskFoundForUniqueKey, ExitCode.REJECTED),
        ("TaskUniqueKeyNotUnique", 409, TaskUniqueKeyNotUnique, ExitCode.REJECTED),
        ("TaskNotRegistered", 404, TaskNotRegistered, ExitCode.REJECTED),
    ],
)
def test_domain_errors(name: str, status: int, expected: type, exit_code: ExitCode) -> None:
    exc = error_from_answer(status, _domain(name, status, "Entry with uid 'x' not found.", {"uid": "x"}))
    assert type(exc) is expected
    assert exc.status_code == status
    assert exc.error_class == name
    assert exc.message == "Entry with uid 'x' not found."
    assert exc.payload == {"uid": "x"}
    assert exc.traceback.startswith("Traceback")
    assert exc.exit_code == exit_code


def test_unknown_domain_class_keeps_its_name() -> None:
    exc = error_from_answer(418, _domain("SomethingNew", 418))
    assert type(exc) is ApiError
    assert exc.error_class == "SomethingNew"
    assert exc.exit_code == ExitCode.REJECTED


def test_validation_422() -> None:
    body = {
        "detail": [
            {"type": "missing", "loc": ["body", "task"], "msg": "Field required", "input": {}},
            {"type": "int_parsing", "loc": ["body", "priority"], "msg": "Input should be a valid integer"},
        ]
    }
    exc = error_from_answer(422, json.dumps(body).encode(), "application/json")
    assert isinstance(exc, ValidationFailed)
    assert exc.error_class == "ValidationError"
    assert "task: Field required" in exc.message
    assert "priority: Input should be a valid integer" in exc.message
    assert len(exc.errors) == 2
    assert exc.exit_code == ExitCode.REJECTED


def test_generic_500() -> None:
    body = {"detail": {"error_class": "KeyError", "error_message": "'x'", "error_traceback": "Traceback..."}}
    exc = error_from_answer(500, json.dumps(body).encode())
    assert isinstance(exc, ServerError)
    assert exc.error_class == "KeyError"
    assert exc.message == "'x'"
    assert exc.traceback == "Traceback..."
    assert exc.exit_code == ExitCode.SERVER_ERROR


def test_http_exception_detail_string() -> None:
    exc = error_from_answer(401, b'{"detail": "Not authenticated"}')
    assert exc.status_code == 401
    assert "Not authenticated" in exc.message
    assert exc.hint
    assert "EVENTIX_TOKEN" in exc.hint


def test_html_from_proxy() -> None:
    html = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
    exc = error_from_answer(502, html, "text/html")
    assert isinstance(exc, ServerError)
    assert exc.exit_code == ExitCode.SERVER_ERROR
    assert "non-JSON" in exc.message
    assert "502 Bad Gateway" in exc.message
    assert "\n" not in exc.message


def test_empty_body() -> None:
    exc = error_from_answer(404, b"")
    assert isinstance(exc, UnexpectedResponse)
    assert exc.message == "HTTP 404 with an empty body"
    assert exc.exit_code == ExitCode.REJECTED
    assert error_from_answer(503, b"").exit_code == ExitCode.SERVER_ERROR


def test_json_of_another_shape() -> None:
    exc = error_from_answer(400, b"[1, 2]")
    assert isinstance(exc, UnexpectedResponse)
    assert "unexpected" in exc.message


def test_format_error_is_one_line_plus_hint() -> None:
    exc = error_from_answer(404, _domain("NotFound", 404, "Entry with uid 'x' not found."))
    assert format_error(exc) == ["error: Entry with uid 'x' not found. (NotFound)"]
    exc = error_from_answer(401, b"")
    lines = format_error(exc)
    assert lines[0].startswith("error: HTTP 401")
    assert lines[1].startswith("hint: ")
