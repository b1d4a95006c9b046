"""One task as a row of a table: shared by the task listings and the interactive ``top``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from eventix_cli.cli.output import dumps
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
        "result": short_result(task.result) if task.status.value == "done" else None,
        "_task": task,
    }


RESULT_CELLS = 60  # a result in a table is a glance; -o json has it whole


def short_result(result: Any) -> str:
    """A task's result on one line (JSON, text unquoted), at most RESULT_CELLS characters."""
    if result is None:
        return ""
    text = result if isinstance(result, str) else dumps(result)
    text = " ".join(text.split())
    return text if len(text) <= RESULT_CELLS else text[: RESULT_CELLS - 1] + "…"
