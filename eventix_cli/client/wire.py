"""The wire format: path segments and JSON bodies the client sends, documents it reads.

Sending refuses, before anything goes out, path segments that are empty, too long or not valid
Unicode, and task ids that name no task (:func:`check_task_id`); JSON bodies are
:mod:`eventix_cli.core.jsonrules`' (``encode_json``). Reading turns a body that is not the
expected document into :class:`~eventix_cli.core.errors.InvalidResponse`, and reads documents
nested deeper than pydantic's JSON parser allows (200 levels) through the standard library's
parser.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from eventix_cli.client.answer import Answer
from eventix_cli.core.errors import InvalidResponse, UnsendableValue, UsageError
from eventix_cli.core.jsonrules import not_unicode_message, shown, uid_refusal

if TYPE_CHECKING:
    from pydantic import BaseModel


#: the longest id, unique key or namespace sent in a URL path: servers and proxies refuse
#: request lines beyond a few kilobytes (nginx: 8 KB), and ids are 32 characters
MAX_SEGMENT_LENGTH = 1024


def check_identifier(value: str, what: str) -> None:
    """An id, unique key or namespace that can be sent: not empty, not absurdly long."""
    if not value:
        raise UsageError(f"{what} must not be empty")
    if len(value) > MAX_SEGMENT_LENGTH:
        raise UsageError(
            f"{what} {shown(value)} is too long: at most {MAX_SEGMENT_LENGTH:,} characters",
        )


def check_task_id(uid: str) -> None:
    """A task id that can be sent, and that can name a task: one holding ``/`` cannot, for
    the uid is one segment of the task's path (``/task/{uid}``) and servers decode ``%2F``
    before routing (the embedded server refuses to store such a uid; upstream's stores it,
    but none of its task routes reaches it again). Raises :class:`UnsendableValue`, as for
    every value no server can take, so a caller that handles those (the worker) handles it."""
    check_identifier(uid, "task id")
    reason = uid_refusal(uid, "task id")
    if reason is not None:
        raise UnsendableValue(reason)


def task_segment(uid: str) -> str:
    """The path segment of a task id (:func:`check_task_id`, then :func:`segment`)."""
    check_task_id(uid)
    return segment(uid, "task id")


def segment(value: str, what: str) -> str:
    """One quoted path segment (unique keys may hold ``/``, ``:``, spaces, ...).

    ``.`` and ``..`` go out as ``%2E`` and ``%2E%2E``: as they are they would be dot segments,
    which a URL resolves away (``/task/..`` is ``/``); servers decode the escaped ones to the id.
    """
    check_identifier(value, what)
    if value in (".", ".."):
        return value.replace(".", "%2E")
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:
        raise UnsendableValue(not_unicode_message(what, value)) from None


def invalid(response: Answer, reason: str) -> InvalidResponse:
    content_type = response.headers.get("content-type", "no content type")
    text = response.content[:200].decode("utf-8", "replace")
    snippet = " ".join(text.split())[:80]
    return InvalidResponse(
        f"HTTP {response.status_code} from {response.method} {response.path} "
        f"is not an Eventix document ({content_type}: {reason}): {snippet or 'empty body'}",
        status_code=response.status_code,
        payload={"body": response.content[:2000].decode("utf-8", "replace")},
        hint="is --url pointing at an Eventix server (and not at a proxy or another service)?",
    )


def decode_json(response: Answer) -> Any:
    """The body as JSON, whatever its nesting."""
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError) as exc:
        raise invalid(response, f"not JSON ({type(exc).__name__})") from None


def decode_model[M: "BaseModel"](response: Answer, model: type[M]) -> M:
    """The body validated as ``model``; deep documents go through the standard JSON parser."""
    # deferred: the fast read path (task list/show/add) never validates a model, and pydantic
    # is ~40 ms of its start-up (tests/test_startup.py pins it off)
    from pydantic import ValidationError

    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        if not all(error["type"] == "json_invalid" for error in exc.errors()):
            raise invalid(response, _first_error(exc)) from None
    # pydantic's own parser stops at 200 levels; the server stores deeper documents
    data = decode_json(response)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(response, _first_error(exc)) from None


def expect(response: Answer, kind: type, what: str) -> Any:
    """The JSON body, which must be a ``kind`` (dict, list)."""
    body = decode_json(response)
    if not isinstance(body, kind):
        raise invalid(response, f"expected {what}, got {type(body).__name__}")
    return body


def _first_error(exc: Any) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid"
    first = errors[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "document"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{loc}: {first.get('msg', 'invalid')}{more}"
