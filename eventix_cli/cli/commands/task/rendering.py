"""How tasks look in listings: the table and CSV columns, and one row per task."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from eventix_cli.cli.output import Column, Output
from eventix_cli.cli.tables import select_columns
from eventix_cli.cli.task_rows import task_row
from eventix_cli.core.times import utcnow

if TYPE_CHECKING:
    from eventix_cli.core.task import Task
    from eventix_cli.core.view import TaskView


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
