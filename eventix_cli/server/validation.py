"""Request parsing and validation shared by the FastAPI routes and the fast path.

One place decides what a request may contain, so the ways in cannot drift: the body
models, the strict-JSON rules of :mod:`eventix_cli.core.jsonrules` applied to a body (nesting
depth, 64-bit integers, text that is valid Unicode) and to a task a trigger makes, how a
task path names its uid, how a query string is read, and the shape of the error answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eventix_cli.core.jsonrules import (
    INT64_MAX,
    MAX_JSON_DEPTH,
    NotAJsonNumber,
    finite_float,
    fits_int64,
    reject_constant,
    uid_refusal,
    unstorable_reason,
)
from eventix_cli.core.task import Event, Task
from eventix_cli.server.errors import DomainError, UnstorableDocument

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: the scope key under which the door leaves the parsed JSON body for the fast path
PARSED_BODY = "eventix.json"

_TASK_PATH = re.compile(r"^/task/(?P<uid>[^/]+)$")  # as the router matches /task/{uid}
# a \uD800-\uDFFF escape, or UTF-8-style bytes of a surrogate (json.loads lets them through)
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
# 19 digits in a row: every integer beyond 64 bits has them
_MAYBE_LONG_INT = re.compile(rb"\d{19}")


class TaskBody(Task):
    """The task model as a request body, built eagerly (FastAPI cannot use a deferred build)."""

    model_config = ConfigDict(defer_build=False)

    @field_validator("priority")
    @classmethod
    def _priority_fits(cls, value: int) -> int:
        return _int64(value)

    @field_validator("uid")
    @classmethod
    def _uid_names_its_path(cls, value: str) -> str:
        return _routable_uid(value)


class EventBody(Event):
    model_config = ConfigDict(defer_build=False)

    @field_validator("priority")
    @classmethod
    def _priority_fits(cls, value: int) -> int:
        return _int64(value)


class QueryBody(BaseModel):
    """The body of ``PUT /tasks/by_status`` and ``/tasks/dump`` (and of by_task, less ``task``)."""

    model_config = ConfigDict(extra="ignore")

    status: str | None = None
    namespace: str | None = None
    skip: int | None = Field(default=None, ge=0, le=INT64_MAX)
    limit: int | None = Field(default=None, ge=0, le=INT64_MAX)
    sort: str | None = None
    view: str | None = None
    filter: dict[str, Any] | None = None


class ByTaskBody(QueryBody):
    task: str


def _int64(value: int) -> int:
    if not fits_int64(value):
        raise ValueError("must be a 64-bit integer")
    return value


def _routable_uid(value: str) -> str:
    reason = uid_refusal(value)
    if reason is not None:
        raise ValueError(reason)
    return value


# -- paths and query strings ------------------------------------------------------------------


def task_uid(path: str) -> str | None:
    """The uid of ``/task/{uid}`` in an already decoded ASGI path (decoded once, never again)."""
    found = _TASK_PATH.match(path)
    return found["uid"] if found else None


def json_content(scope: Scope) -> bool:
    """Whether the request says its body is JSON, as FastAPI decides it (``application/json``
    or ``application/*+json``; a body without a content type is not read as JSON)."""
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            subtype = kind.removeprefix(b"application/")
            return subtype != kind and (subtype == b"json" or subtype.endswith(b"+json"))
    return False


def query_params(scope: Scope) -> dict[str, str]:
    """The query string as the router reads it: blank values kept, the last of a name wins."""
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))


# -- bodies -----------------------------------------------------------------------------------


class BodyRefused(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["msg"])
        self.errors = errors


def _number_refusal(exc: NotAJsonNumber) -> str:
    if exc.overflows:
        return f"{exc.literal} is too large for a JSON number (64-bit float)"
    return f"{exc.literal} is not a JSON number"


# json.loads(raw), less NaN/Infinity and infinite floats
_DECODER = json.JSONDecoder(parse_constant=reject_constant, parse_float=finite_float)

#: what :func:`check_body` answers for a body that is not JSON
NOT_JSON = object()


def check_body(raw: bytes) -> Any:
    """The parsed JSON of a request body, or :data:`NOT_JSON` when it is not JSON (the route
    answers that as usual); raises :class:`BodyRefused` for JSON the server will not take."""
    if not raw:
        return NOT_JSON
    try:
        value = _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except RecursionError:
        reason = f"JSON nested deeper than {MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)"
    except NotAJsonNumber as exc:
        reason = _number_refusal(exc)
    except ValueError:
        return NOT_JSON
    else:
        if _plainly_fine(raw):
            return value
        reason = unstorable_reason(value)
        if reason is None:
            return value
    raise BodyRefused([{"type": "value_error", "loc": ["body"], "msg": reason, "input": None}])


def _plainly_fine(raw: bytes) -> bool:
    """Whether the text alone shows the walk of :func:`unstorable_reason` is not needed (most
    bodies): too few brackets to be too deep, no escape or byte that can make a surrogate, no
    run of digits long enough for an integer beyond 64 bits."""
    if b"\x00" in raw:  # UTF-16/32: the byte tests below do not apply
        return False
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH:
        return False
    return _MAYBE_SURROGATE.search(raw) is None and _MAYBE_LONG_INT.search(raw) is None


def storable(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc``, a task document that comes in other than as a request body (a trigger's task),
    held to the rules every body is (:func:`check_body`) and its uid to the rule of a task
    body's (:class:`TaskBody`): the store takes nothing it could not take back on the next
    write. Raises :class:`UnstorableDocument`."""
    reason = unstorable_reason(doc)
    if reason is not None:
        raise UnstorableDocument(f"the task cannot be stored: it holds {reason}")
    uid = doc.get("uid")
    reason = uid_refusal(uid) if isinstance(uid, str) else None
    if reason is not None:
        raise UnstorableDocument(f"the task cannot be stored: its {reason}")
    return doc


def validation_body(errors: list[dict[str, Any]]) -> bytes:
    """FastAPI's 422 body."""
    return json.dumps({"detail": errors}, default=str).encode()


def missing_query(name: str) -> dict[str, Any]:
    return {"type": "missing", "loc": ["query", name], "msg": "Field required", "input": None}


# -- answers ----------------------------------------------------------------------------------

JSON_HEADERS = [(b"content-type", b"application/json")]


async def respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    head = [(b"content-length", str(len(body)).encode())]
    if body:
        head += JSON_HEADERS
    await send({"type": "http.response.start", "status": status, "headers": [*head, *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


async def send_error(
    send: Send, error: DomainError, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(error.body(), separators=(",", ":"), ensure_ascii=False).encode()
    await respond(send, error.status_code, body, headers)
