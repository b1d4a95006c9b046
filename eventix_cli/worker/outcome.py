"""What a finished task becomes: done, retry or error, exactly as upstream's worker writes it."""

from __future__ import annotations

import datetime as dt
import traceback
from typing import Any

from eventix_cli.models import Task, TaskStatus, utcnow


def error_result(exc: BaseException) -> dict[str, Any]:
    """The error object stored in ``result``; upstream's own exceptions keep their shape."""
    to_dict = getattr(exc, "dict", None)
    if callable(to_dict) and hasattr(exc, "status_code"):  # upstream WebException subclasses
        try:
            body = to_dict()
        except Exception:  # noqa: BLE001 - fall back to the generic shape below
            body = None
        if isinstance(body, dict) and "error_class" in body:
            return body
    return {
        "error_class": type(exc).__name__,
        "error_message": str(exc),
        "error_status_code": 500,
        "error_traceback": traceback.format_tb(exc.__traceback__),
        "error_payload": {},
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
    else:
        task.status = TaskStatus.error
        if task.error_expires is not None:
            task.expires = now + dt.timedelta(seconds=task.error_expires)
    task.worker_expires = None


def apply_release(task: Task) -> None:
    """Back to the queue, unclaimed (a worker that stops before the task finished)."""
    task.status = TaskStatus.scheduled
    task.worker_id = None
    task.worker_expires = None
