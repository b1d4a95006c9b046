"""What a finished task becomes: done, retry or error, exactly as upstream's worker writes it."""

from __future__ import annotations

import datetime as dt
import traceback
from typing import Any

from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow

#: error classes the worker itself writes (besides the class of what a task raised)
RESULT_NOT_STORABLE = "ResultNotStorable"
#: a task whose own document (its arguments, say) the server cannot take back: ended, not retried
TASK_NOT_STORABLE = "TaskNotStorable"
TASK_CANCELLED = "TaskCancelled"


def describe(exc: BaseException) -> str:
    """``str(exc)``, or a stand-in when the exception's own ``__str__`` fails."""
    try:
        text = str(exc)
    except BaseException as failure:  # noqa: BLE001 - task code can do anything, even here
        return f"<str() of {type(exc).__name__} failed: {type(failure).__name__}>"
    return text if isinstance(text, str) else repr(type(exc))


def _traceback_lines(exc: BaseException) -> list[str]:
    try:
        return traceback.format_tb(exc.__traceback__)
    except BaseException:  # noqa: BLE001 - a frame whose source or repr misbehaves
        return []


def _upstream_body(exc: BaseException) -> dict[str, Any] | None:
    to_dict = getattr(type(exc), "dict", None)
    if not (callable(to_dict) and hasattr(exc, "status_code")):  # upstream WebException subclasses
        return None
    try:
        body = to_dict(exc)
    except BaseException:  # noqa: BLE001 - fall back to the generic shape
        return None
    if isinstance(body, dict) and isinstance(body.get("error_class"), str):
        return body
    return None


def error_result(exc: BaseException) -> dict[str, Any]:
    """The error object stored in ``result``; upstream's own exceptions keep their shape.

    Never raises, whatever the exception does (a ``__str__`` that raises, a broken ``dict``).
    """
    body = _upstream_body(exc)
    if body is not None:
        return body
    return {
        "error_class": type(exc).__name__,
        "error_message": describe(exc),
        "error_status_code": 500,
        "error_traceback": _traceback_lines(exc),
        "error_payload": {},
    }


def not_storable(uid: str, reason: str) -> dict[str, Any]:
    """The error object written instead of a result the server (or the wire) cannot take."""
    return {
        "error_class": RESULT_NOT_STORABLE,
        "error_message": f"the result of task {uid} cannot be stored: {reason}",
        "error_status_code": 500,
        "error_traceback": [],
        "error_payload": {},
    }


def task_not_storable(uid: str, dropped: list[str], reason: str) -> dict[str, Any]:
    """The error object of a task ended because the server cannot take its document back;
    ``dropped`` names the fields written back as their defaults."""
    return {
        "error_class": TASK_NOT_STORABLE,
        "error_message": (
            f"task {uid} cannot be stored back as it is ({reason}); ended without running again, "
            f"its fields {', '.join(dropped)} reset to their defaults"
        ),
        "error_status_code": 500,
        "error_traceback": [],
        "error_payload": {"dropped_fields": dropped},
    }


def not_registered(name: str) -> dict[str, Any]:
    return {
        "error_class": "TaskNotRegistered",
        "error_message": f"Task '{name}' not registered.",
        "error_status_code": 404,
        "error_traceback": [],
        "error_payload": {"task": name},
    }


def apply_success(task: Task, result: Any, now: dt.datetime | None = None) -> None:
    now = now or utcnow()
    task.status = TaskStatus.done
    if task.store_result:
        task.result = result
        if task.result_expires is not None:
            task.expires = now + dt.timedelta(seconds=task.result_expires)
    else:
        task.expires = now
    task.worker_expires = None


def apply_failure(task: Task, error: dict[str, Any], now: dt.datetime | None = None) -> None:
    """retry (with doubled, capped backoff) while retries remain, else error."""
    now = now or utcnow()
    task.result = error
    if task.retry and (task.max_retries is None or task.max_retries != 0):
        task.status = TaskStatus.retry
        if task.max_retries is not None:
            task.max_retries -= 1
        task.eta = now + dt.timedelta(seconds=task.error_eta_inc)
        task.error_eta_inc = min(task.error_eta_inc * 2, task.error_eta_max)
        task.worker_id = None
        task.worker_expires = None
    else:
        apply_error(task, error, now)


def apply_error(task: Task, error: dict[str, Any], now: dt.datetime | None = None) -> None:
    """``error`` for good, whatever the retry fields say (a failure no retry would mend)."""
    now = now or utcnow()
    task.result = error
    task.status = TaskStatus.error
    if task.error_expires is not None:
        task.expires = now + dt.timedelta(seconds=task.error_expires)
    task.worker_expires = None


def apply_release(task: Task) -> None:
    """Back to the queue, unclaimed (a worker that stops before the task finished)."""
    task.status = TaskStatus.scheduled
    task.worker_id = None
    task.worker_expires = None


def apply_cancel(task: Task, by: str, now: dt.datetime | None = None) -> None:
    """A running task ended by an operator: ``error`` at once, no retry, no worker.

    Written with the revision the canceller read, so it either wins over the worker's
    write-back (which then meets a conflict and discards its outcome) or loses to it.
    """
    now = now or utcnow()
    previous = task.worker_id
    task.status = TaskStatus.error
    task.result = {
        "error_class": TASK_CANCELLED,
        "error_message": f"cancelled by {by} while running on worker {previous or '?'}",
        "error_status_code": 500,
        "error_traceback": [],
        "error_payload": {"worker_id": previous, "cancelled_by": by},
    }
    task.worker_id = None
    task.worker_expires = None
    if task.error_expires is not None:
        task.expires = now + dt.timedelta(seconds=task.error_expires)
