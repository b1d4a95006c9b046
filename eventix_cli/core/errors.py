"""Exception types and the exit-code table.

Every failure the CLI reports to a user is an :class:`EventixCliError`. Errors that come
from the server are :class:`ApiError` subclasses, chosen by the client
(:mod:`eventix_cli.client.error_answers`) from the body's ``error_class`` (domain errors) or the
status code (validation, generic server errors, proxies).
"""

from __future__ import annotations

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

    #: a bulk run stops at this error: every further item would fail the same way
    stops_a_run: ClassVar[bool] = False

    #: the class named in the message when it is not this one's (an unexpected exception's)
    error_class_name: str | None = None

    def __init__(self, message: str, *, hint: str | None = None, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details  # lines under the message, one per item (each bad input line)

    @property
    def error_class(self) -> str:
        return self.error_class_name or type(self).__name__


class UsageError(EventixCliError):
    """Bad input given on the command line or on stdin; nothing was sent."""

    exit_code = ExitCode.USAGE


class TriggersFailed(EventixCliError):
    """Triggers failed on the server while it answered an event (exit 1)."""


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


class JournalUnwritable(EventixCliError):
    """The journal of changes could not be written (disk full, read-only, no permission); the
    command stops before it changes anything it has not journaled."""

    stops_a_run = True


class CannotUndo(EventixCliError):
    """A journal entry ``undo`` cannot act on as asked: it is damaged, or the earlier state of
    its changes was never recorded; nothing was sent."""


class TransportError(EventixCliError):
    """The request did not get an HTTP answer."""

    stops_a_run = True

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
    """The lines an error becomes on stderr: ``error: <what> (<Class>)``, its details indented
    under it, and an optional hint."""
    lines = [f"error: {exc.message} ({exc.error_class})"]
    lines.extend(f"  {detail}" for detail in getattr(exc, "details", ()))
    if exc.hint:
        lines.append(f"hint: {exc.hint}")
    return lines
