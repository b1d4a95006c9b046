"""One task as a row of a table: shared by the task listings and the interactive ``top``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from eventix_cli.core.times import format_wire_time, relative

if TYPE_CHECKING:
    from eventix_cli.core.task import Task
    from eventix_cli.core.view import TaskView


def retries_left(task: Task | TaskView) -> str:
    """How many more times a failure is retried: a number, or "unlimited"."""
    if not task.retry:
        return "0"
    return "unlimited" if task.max_retries is None else str(task.max_retries)


def task_row(task: Task | TaskView, now: dt.datetime) -> dict[str, Any]:
    error = task.error if task.status.value in ("error", "retry") else None
    return {
        "uid": task.uid,
        "namespace": task.namespace,
        "task": task.task,
        "status": task.status.value,
        "priority": task.logical_priority,
        "eta": format_wire_time(task.eta) if task.eta else None,
        "eta_relative": relative(task.eta, now),
        "unique_key": task.unique_key,
        "retries_left": retries_left(task),
        "error_class": error.error_class if error is not None else None,
        "_task": task,
    }
