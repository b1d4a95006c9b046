"""How tasks look in listings: the table and CSV columns, and one row per task."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from eventix_cli.cli.output import Column, Output
from eventix_cli.cli.tables import CUT_LAST, STATUS_COLOURS, keep_columns, select_columns
from eventix_cli.cli.task_rows import task_row
from eventix_cli.core.times import utcnow

if TYPE_CHECKING:
    from eventix_cli.core.task import Task
    from eventix_cli.core.view import TaskView


def task_columns() -> list[Column]:
    """The table of tasks; on a narrow terminal those that tell nothing go first, then the
    low-ranked ones (highest ``drop``); task names and errors are shortened last."""
    return [
        Column("uid", "UID", min_width=32),
        Column("namespace", "NAMESPACE", drop=5),
        Column("task", "TASK", cut=CUT_LAST),
        Column("status", "STATUS", colours=STATUS_COLOURS),
        Column("priority", "PRIO", justify="right", drop=4),
        Column("eta_relative", "ETA", drop=3),
        Column("unique_key", "UNIQUE KEY", drop=6),
        Column("retries_left", "RETRIES LEFT", justify="right", drop=7),
        Column("error_class", "ERROR", optional=True, cut=CUT_LAST),
    ]


def wait_columns() -> list[Column]:
    """The table of ``task wait`` and ``task add --wait``: the tasks with their result."""
    return [*task_columns(), Column("result", "RESULT", optional=True, cut=CUT_LAST)]


#: the table column that shows each sortable task field
SORT_COLUMNS = {
    "_id": "uid",
    "namespace": "namespace",
    "task": "task",
    "status": "status",
    "priority": "priority",
    "eta": "eta_relative",
    "unique_key": "unique_key",
    "max_retries": "retries_left",
}


def listing_columns(*, all_namespaces: bool = False, sort: str | None = None) -> list[Column]:
    """The table of a listing: the namespace kept across namespaces, and the sort key kept."""
    keys = ["namespace"] if all_namespaces else []
    for field in (sort or "").split(","):
        column = SORT_COLUMNS.get(field.strip().removeprefix("-"))
        if column is not None:
            keys.append(column)
    return keep_columns(task_columns(), keys)


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
    fmt: str | None,
    tasks: Iterable[Task | TaskView],
    *,
    headers: bool = True,
    columns: str | None = None,
    table: list[Column] | None = None,
    pick_option: str | None = None,
) -> int:
    """Tasks as a table, or their full documents (json/jsonl), CSV rows or ids. Returns the count.

    ``table`` gives the table's columns (default task_columns), of which ``columns`` (a comma
    list) picks some, as it does the CSV columns; ``headers=False`` leaves out their header
    row; ``pick_option`` is the command's option that picks columns, named when a narrow
    terminal hides some.
    """
    now = utcnow()
    out = Output(fmt, headers=headers, pick_option=pick_option)
    rows = (task_row(t, now) for t in tasks)
    offered = csv_columns() if out.format == "csv" else (table or task_columns())
    return out.records(rows, select_columns(offered, columns), raw=lambda row: row["_task"].to_wire())
