"""How tasks look in listings: the table and CSV columns, and one row per task."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from eventix_cli.cli.output import Column, Output
from eventix_cli.cli.tables import select_columns
from eventix_cli.core.times import format_wire_time, relative, utcnow

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


def task_columns() -> list[Column]:
    """The table of tasks; at 80 columns the low-ranked ones (highest ``drop``) go first."""
    return [
        Column("uid", "UID", min_width=32),
        Column("namespace", "NAMESPACE", drop=5),
        Column("task", "TASK"),
        Column("status", "STATUS"),
        Column("priority", "PRIO", justify="right", drop=4),
        Column("eta_relative", "ETA", drop=3),
        Column("unique_key", "UNIQUE KEY", drop=6),
        Column("retries_left", "RETRIES LEFT", justify="right", drop=7),
        Column("error_class", "ERROR", drop=2, optional=True),
    ]


CSV_COLUMNS = (
    "uid",
    "namespace",
    "task",
    "status",
    "priority",
    "eta",
    "unique_key",
    "retries_left",
    "error_class",
)


def csv_columns() -> list[Column]:
    return [Column(c, c) for c in CSV_COLUMNS]


def print_tasks(
    fmt: str | None, tasks: Iterable[Task | TaskView], *, headers: bool = True, columns: str | None = None
) -> int:
    """Tasks as a table, or their full documents (json/jsonl), CSV rows or ids. Returns the count.

    ``columns`` (a comma list) picks the table or CSV columns; ``headers=False`` leaves out
    their header row.
    """
    now = utcnow()
    out = Output(fmt, headers=headers)
    rows = (task_row(t, now) for t in tasks)
    chosen = select_columns(csv_columns() if out.format == "csv" else task_columns(), columns)
    return out.records(rows, chosen, raw=lambda row: row["_task"].to_wire())
