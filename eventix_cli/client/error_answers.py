"""An answer with an error status, as the typed exception it stands for.

The API answers errors in three body formats, and proxies in front of it in any: a domain
error (``{"error_class", "error_message", ...}``), FastAPI's ``{"detail": ...}`` (a list of
validation errors, a generic server failure, or a text), or anything else (an HTML page, an
empty body). Each becomes an :class:`~eventix_cli.core.errors.ApiError` subclass, which sets the
exit code; the exception classes themselves live in :mod:`eventix_cli.core.errors`.
"""

from __future__ import annotations

import json
from typing import Any

from eventix_cli.core.errors import (
    AlreadyExists,
    ApiError,
    BackendFeaturesMissing,
    NoTaskFoundForUniqueKey,
    RevisionConflict,
    ServerError,
    TaskNotFound,
    TaskNotRegistered,
    TaskUniqueKeyNotUnique,
    Unauthorized,
    UnexpectedResponse,
    ValidationFailed,
    WrongTaskStatus,
)

#: the exception for each ``error_class`` a server names
DOMAIN_ERRORS: dict[str, type[ApiError]] = {
    cls.server_class_name: cls
    for cls in (
        TaskNotFound,
        AlreadyExists,
        RevisionConflict,
        WrongTaskStatus,
        NoTaskFoundForUniqueKey,
        TaskUniqueKeyNotUnique,
        TaskNotRegistered,
        BackendFeaturesMissing,
        Unauthorized,
    )
    if cls.server_class_name
}

HINTS: dict[int, str] = {
    401: "the server wants a token: set EVENTIX_TOKEN or `token` in your profile",
    403: "the token was refused: check EVENTIX_TOKEN",
    502: "a proxy in front of the server could not reach it",
    503: "the server is unavailable; try again shortly",
    504: "a proxy in front of the server timed out",
}


def error_from_answer(status_code: int, content: bytes, content_type: str = "") -> ApiError:
    """The typed exception for an error answer, whichever of the API's body formats it has."""
    body = _json_or_none(content)
    hint = HINTS.get(status_code)
    if isinstance(body, dict) and isinstance(body.get("error_class"), str):
        tb = body.get("error_traceback")
        traceback = "".join(tb) if isinstance(tb, list) else tb
        return _domain_error(status_code, body, body["error_class"], traceback, hint)
    if isinstance(body, dict) and "detail" in body:
        return _detail_error(status_code, body["detail"], hint)
    return _foreign_error(status_code, body, content, content_type, hint)


def _json_or_none(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def _default_class(status_code: int) -> type[ApiError]:
    return ServerError if status_code >= 500 else ApiError


def _domain_error(
    status_code: int, doc: dict[str, Any], name: str, traceback: Any, hint: str | None
) -> ApiError:
    """``{"error_class", "error_message", "error_payload", "error_traceback"}``: the class it names."""
    cls = DOMAIN_ERRORS.get(name, _default_class(status_code))
    return cls(
        str(doc.get("error_message") or name),
        status_code=status_code,
        server_error_class=name,
        payload=doc.get("error_payload") or {},
        traceback=traceback,
        hint=hint,
    )


def _detail_error(status_code: int, detail: Any, hint: str | None) -> ApiError:
    """FastAPI's ``{"detail": ...}``: validation errors, a generic server failure, or a text."""
    if isinstance(detail, list):  # [{"type", "loc", "msg", "input"}, ...]
        return ValidationFailed(
            f"request rejected: {_format_validation(detail)}",
            status_code=status_code,
            server_error_class="ValidationError",
            payload=detail,
            hint=hint,
        )
    if isinstance(detail, dict) and "error_class" in detail:  # a generic server failure
        name = str(detail["error_class"])
        return _domain_error(status_code, detail, name, detail.get("error_traceback"), hint)
    cls = _default_class(status_code)  # HTTPException: {"detail": "text"}
    return cls(
        f"HTTP {status_code}: {detail}",
        status_code=status_code,
        server_error_class=cls.__name__,
        payload=detail,
        hint=hint,
    )


def _foreign_error(
    status_code: int, body: Any, content: bytes, content_type: str, hint: str | None
) -> ApiError:
    """Anything else: HTML from a proxy, an empty body, a JSON value of another shape."""
    cls = ServerError if status_code >= 500 else UnexpectedResponse
    if content:
        kind = "non-JSON" if body is None else "unexpected"
        shown = content_type or "no content type"
        message = f"HTTP {status_code} with {kind} response ({shown}): {_snippet(content)}"
    else:
        message = f"HTTP {status_code} with an empty body"
    return cls(
        message,
        status_code=status_code,
        server_error_class=cls.__name__,
        payload={"body": content.decode("utf-8", "replace")[:2000]} if content else {},
        hint=hint or "is --url pointing at an Eventix server (and not at a proxy error page)?",
    )


def _format_validation(detail: list[Any]) -> str:
    parts: list[str] = []
    for item in detail[:3]:
        if not isinstance(item, dict):
            parts.append(str(item))
            continue
        loc = ".".join(str(p) for p in item.get("loc", []) if p != "body") or "request"
        parts.append(f"{loc}: {item.get('msg', 'invalid')}")
    more = f" (+{len(detail) - 3} more)" if len(detail) > 3 else ""
    return "; ".join(parts) + more


def _snippet(content: bytes) -> str:
    text = content.decode("utf-8", "replace").strip()
    text = " ".join(text.split())
    return text[:120] + ("..." if len(text) > 120 else "")
