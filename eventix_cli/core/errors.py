"""Exception types, error-body parsing and the exit-code table.

Every failure the CLI reports to a user is an :class:`EventixCliError`. Errors that come
from the server are :class:`ApiError` subclasses chosen by the body's ``error_class``
(domain errors) or by the status code (validation, generic server errors, proxies).
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any, ClassVar


class ExitCode(IntEnum):
    """Exit codes every command uses; the README documents this table."""

    OK = 0
    FAILURE = 1  # general failure, or a bulk operation that partly failed
    USAGE = 2  # usage error or bad input
    UNREACHABLE = 3  # server unreachable or timed out
    REJECTED = 4  # not found / rejected by the server (4xx)
    SERVER_ERROR = 5  # server error (5xx)
    TIMEOUT = 124  # a --timeout the user gave ran out (task wait)
    INTERRUPTED = 130  # Ctrl-C


class EventixCliError(Exception):
    """Base of every error the CLI turns into a one-line message and an exit code."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILURE

    #: the class named in the message when it is not this one's (an unexpected exception's)
    error_class_name: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def error_class(self) -> str:
        return self.error_class_name or type(self).__name__


class UsageError(EventixCliError):
    """Bad input given on the command line or on stdin; nothing was sent."""

    exit_code = ExitCode.USAGE


class ConfigError(EventixCliError):
    """The configuration file or an environment variable is malformed."""

    exit_code = ExitCode.USAGE


class UnsendableValue(UsageError):
    """A value the server cannot store (NaN, an integer beyond 64 bits, a lone surrogate);
    refused by the client before anything is sent."""


class ReadOnlyError(EventixCliError):
    """A command that changes tasks was refused because read-only mode is on."""

    exit_code = ExitCode.USAGE


class WriteFailed(EventixCliError):
    """An output file could not be written to the end (disk full, reader gone, ...)."""


class TransportError(EventixCliError):
    """The request did not get an HTTP answer."""

    exit_code = ExitCode.UNREACHABLE


class ServerUnreachable(TransportError):
    """No connection could be made (refused, DNS, TLS handshake)."""


class ServerTimeout(TransportError):
    """The server accepted the connection but did not answer in time."""


class CertificateVerifyFailed(TransportError):
    """The server's TLS certificate was not trusted (unknown CA, wrong host name, expired)."""


class ApiError(EventixCliError):
    """The server answered with an error status.

    Attributes mirror the Eventix error body: ``status_code``, ``server_error_class`` (the
    ``error_class`` the server named, or a synthetic one for bodies without it), ``message``,
    ``payload`` and ``traceback`` (text, when the server sent one).
    """

    exit_code = ExitCode.REJECTED
    server_class_name: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        server_error_class: str | None = None,
        payload: Any = None,
        traceback: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        self.server_error_class = server_error_class or type(self).__name__
        self.payload = payload if payload is not None else {}
        self.traceback = traceback

    @property
    def error_class(self) -> str:
        return self.server_error_class


class TaskNotFound(ApiError):
    server_class_name = "NotFound"


class AlreadyExists(ApiError):
    server_class_name = "AlreadyExists"


class RevisionConflict(ApiError):
    server_class_name = "RevisionConflict"


class WrongTaskStatus(ApiError):
    server_class_name = "WrongTaskStatus"


class NoTaskFoundForUniqueKey(ApiError):
    server_class_name = "NoTaskFoundForUniqueKey"


class TaskUniqueKeyNotUnique(ApiError):
    server_class_name = "TaskUniqueKeyNotUnique"


class TaskNotRegistered(ApiError):
    server_class_name = "TaskNotRegistered"


class BackendFeaturesMissing(ApiError):
    server_class_name = "BackendFeaturesMissing"
    exit_code = ExitCode.SERVER_ERROR


class Unauthorized(ApiError):
    server_class_name = "Unauthorized"


class ValidationFailed(ApiError):
    """422 with FastAPI's ``{"detail": [...]}`` body: the server rejected the request's shape."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.payload if isinstance(self.payload, list) else []


class ServerError(ApiError):
    """5xx: the server failed while handling a valid request."""

    exit_code = ExitCode.SERVER_ERROR


class UnreadableTask(ApiError):
    """A 2xx answer carrying a task document the client cannot read; ``content`` is the body."""

    def __init__(self, message: str, *, content: bytes, status_code: int = 200) -> None:
        super().__init__(message, status_code=status_code, server_error_class="UnreadableTask")
        self.content = content


class UnexpectedResponse(ApiError):
    """A 4xx/5xx whose body is not an Eventix error (HTML from a proxy, empty, ...)."""


class InvalidResponse(ServerError):
    """A success status whose body is not the document the API returns (an HTML page from a
    proxy or another service, a truncated or malformed document)."""


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

_HINTS: dict[int, str] = {
    401: "the server wants a token: set EVENTIX_TOKEN or `token` in your profile",
    403: "the token was refused: check EVENTIX_TOKEN",
    502: "a proxy in front of the server could not reach it",
    503: "the server is unavailable; try again shortly",
    504: "a proxy in front of the server timed out",
}


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


def error_from_response(status_code: int, content: bytes, content_type: str = "") -> ApiError:
    """Turn an error response (any of the body formats in the API) into a typed exception."""
    body: Any = None
    if content:
        try:
            body = json.loads(content)
        except ValueError:
            body = None

    hint = _HINTS.get(status_code)
    default_cls: type[ApiError] = ServerError if status_code >= 500 else ApiError

    # Domain error: {"error_class", "error_message", "error_status_code", "error_traceback", "error_payload"}
    if isinstance(body, dict) and isinstance(body.get("error_class"), str):
        name = body["error_class"]
        cls = DOMAIN_ERRORS.get(name, default_cls)
        tb = body.get("error_traceback")
        return cls(
            str(body.get("error_message") or name),
            status_code=status_code,
            server_error_class=name,
            payload=body.get("error_payload") or {},
            traceback="".join(tb) if isinstance(tb, list) else tb,
            hint=hint,
        )

    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        # FastAPI validation: {"detail": [{"type", "loc", "msg", "input"}, ...]}
        if isinstance(detail, list):
            return ValidationFailed(
                f"request rejected: {_format_validation(detail)}",
                status_code=status_code,
                server_error_class="ValidationError",
                payload=detail,
                hint=hint,
            )
        # Generic server failure: {"detail": {"error_class", "error_message", "error_traceback"}}
        if isinstance(detail, dict) and "error_class" in detail:
            name = str(detail["error_class"])
            cls = DOMAIN_ERRORS.get(name, default_cls)
            return cls(
                str(detail.get("error_message") or name),
                status_code=status_code,
                server_error_class=name,
                payload=detail.get("error_payload") or {},
                traceback=detail.get("error_traceback"),
                hint=hint,
            )
        # HTTPException: {"detail": "text"}
        return default_cls(
            f"HTTP {status_code}: {detail}",
            status_code=status_code,
            server_error_class=default_cls.__name__,
            payload=detail,
            hint=hint,
        )

    # Anything else: HTML from a proxy, empty body, a JSON value of another shape.
    what = _snippet(content) if content else "empty body"
    kind = "non-JSON" if body is None and content else "unexpected"
    cls = ServerError if status_code >= 500 else UnexpectedResponse
    return cls(
        f"HTTP {status_code} with {kind} response ({content_type or 'no content type'}): {what}"
        if content
        else f"HTTP {status_code} with an empty body",
        status_code=status_code,
        server_error_class=cls.__name__,
        payload={"body": content.decode("utf-8", "replace")[:2000]} if content else {},
        hint=hint or "is --url pointing at an Eventix server (and not at a proxy error page)?",
    )


def from_unexpected(exc: Exception, doing: str | None = None) -> EventixCliError:
    """An exception that reached the top level, as one line and a documented exit code.

    Undecodable input is bad input (2, nothing was sent: input is read before anything is
    sent); an OS error (a full disk, a closed stdout) is a failure (1); anything else is a bug,
    reported as one with a pointer to ``--debug``.
    """
    if isinstance(exc, UnicodeDecodeError):
        byte = exc.object[exc.start : exc.start + 1].hex()
        return UsageError(
            f"input is not UTF-8 text: byte 0x{byte} at offset {exc.start:,} ({exc.reason})",
            hint="files, stdin and arguments must be UTF-8 text (JSON, ids, dumps)",
        )
    if isinstance(exc, OSError):
        what = exc.strerror or str(exc) or type(exc).__name__
        if exc.filename:
            what = f"{exc.filename}: {what}"
        if doing:
            what = f"{doing}: {what}"
        error = EventixCliError(f"{what} [errno {exc.errno}]" if exc.errno else what)
        error.error_class_name = type(exc).__name__
        return error
    error = EventixCliError(
        f"internal error: {exc}" if str(exc) else "internal error",
        hint="this is a bug in eventix; run again with --debug for the traceback and report it",
    )
    error.error_class_name = type(exc).__name__
    return error


def format_error(exc: EventixCliError) -> list[str]:
    """The lines an error becomes on stderr: ``error: <what> (<Class>)`` and an optional hint."""
    lines = [f"error: {exc.message} ({exc.error_class})"]
    if exc.hint:
        lines.append(f"hint: {exc.hint}")
    return lines
