"""Errors the embedded server answers with, in the Eventix domain-error body format."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

#: paths under where Python and eventix-cli are installed (longest root first): named in no
#: answer, as a traceback would name them
_INSTALL_PATH = re.compile(
    "|".join(
        re.escape(root) + r"[^\s'\"]*"
        for root in sorted(
            {str(Path(__file__).resolve().parents[2]), sys.prefix, sys.base_prefix, sys.exec_prefix},
            key=len,
            reverse=True,
        )
    )
)


class DomainError(Exception):
    """An error with an Eventix ``error_class``, a status code and a payload."""

    status_code = 500

    def __init__(self, message: str, **payload: Any) -> None:
        super().__init__(message)
        self.message = message
        self.payload = payload

    @property
    def error_class(self) -> str:
        return type(self).__name__

    def body(self) -> dict[str, Any]:
        return {
            "error_class": self.error_class,
            "error_message": self.message,
            "error_status_code": self.status_code,
            "error_traceback": None,
            "error_payload": self.payload,
        }


class NotFound(DomainError):
    status_code = 404

    def __init__(self, uid: str) -> None:
        super().__init__(f"Entry with uid '{uid}' not found.", uid=uid)


class AlreadyExists(DomainError):
    status_code = 409

    def __init__(self, uid: str) -> None:
        super().__init__(f"Entry with uid '{uid}' already exists.", uid=uid)


class RevisionConflict(DomainError):
    status_code = 409

    def __init__(self, revision: str) -> None:
        super().__init__(f"revision changed to {revision}", revision=revision)


class WrongTaskStatus(DomainError):
    status_code = 422

    def __init__(self, uid: str, status: str) -> None:
        super().__init__(f"Task {uid} has wrong status: '{status}'", uid=uid, status=status)


class NoTaskFoundForUniqueKey(DomainError):
    status_code = 404

    def __init__(self, unique_key: str, stati: str | None = None) -> None:
        super().__init__(f"No task for unique_key {unique_key} and stati {stati} found")


class TaskUniqueKeyNotUnique(DomainError):
    status_code = 409

    def __init__(self, unique_key: str) -> None:
        super().__init__(f"Task with unique_key {unique_key} not unique")


class UnsupportedFilter(DomainError):
    """A filter operator, field or value the server cannot run (never silently ignored)."""

    status_code = 422


class InvalidQuery(DomainError):
    status_code = 422


class QueryTooSlow(DomainError):
    status_code = 422

    def __init__(self, limit: float) -> None:
        super().__init__(
            f"the query ran longer than {limit:g} s and was stopped: narrow the filter or page with limit",
            limit=limit,
        )


class TriggersTooSlow(DomainError):
    """``POST /event``: a trigger's code still runs after the server's time limit (500, not
    504: a client may retry a 504, and posting the event again would run the triggers again)."""

    status_code = 500

    def __init__(self, event: str, trigger: str | None, limit: float) -> None:
        super().__init__(
            f"the triggers of event {event} ran longer than {limit:g} s (trigger {trigger} is still "
            "running): the event was not fully handled",
            event=event,
            trigger=trigger,
            limit=limit,
        )


class UnstorableDocument(DomainError):
    """A task document, made other than from a request body (a trigger's task), that breaks the
    strict-JSON rules: stored, no worker could write it back."""

    status_code = 422


class DatabaseUnavailable(DomainError):
    """The database cannot be written now (its file deleted or replaced): the server, not the
    request, is at fault, and a retry later may succeed."""

    status_code = 503


class Unauthorized(DomainError):
    status_code = 401


class RequestTooLarge(DomainError):
    status_code = 413


class FilterError(ValueError):
    """The filter or sort cannot be run: an unsupported operator, a malformed value (answered
    as :class:`UnsupportedFilter`)."""


class StoreError(Exception):
    """The database cannot be used (newer schema, unreadable file)."""


def error_detail(exc: BaseException) -> dict[str, Any]:
    """The 500 body of an unexpected error, in upstream's shape: its class and message, but no
    traceback and no path of the installation (the server's log has them)."""
    return {
        "detail": {
            "error_class": type(exc).__name__,
            "error_message": _INSTALL_PATH.sub("<installation>", str(exc)),
            "error_traceback": None,
        }
    }
