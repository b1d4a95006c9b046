"""``eventix task list``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from eventix_cli.cli import output as out
from eventix_cli.cli.commands.task.common import (
    NewerThanOption,
    OlderThanOption,
    StatusOption,
    TaskNameOption,
    UniqueKeyFilterOption,
    build_query,
)
from eventix_cli.cli.commands.task.rendering import csv_columns, listing_columns, print_tasks
from eventix_cli.cli.options import (
    AllNamespacesOption,
    ColumnsOption,
    NamespaceOption,
    NoHeadersOption,
    OutputOption,
    TimeoutOption,
    UrlOption,
)
from eventix_cli.cli.output import Column, Output
from eventix_cli.cli.state import connect
from eventix_cli.cli.tables import select_columns
from eventix_cli.cli.task_rows import task_row
from eventix_cli.client.selection import first_matches, iter_matches
from eventix_cli.core.errors import UsageError
from eventix_cli.core.times import utcnow

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.query import TaskQuery

EPILOG = """\
[bold]Examples[/bold]

  [dim]# failed tasks of one function, newest first[/dim]
  eventix task list --status error --task send_invoice

  [dim]# every error id of the last hour, into a retry[/dim]
  eventix task list --status error --newer-than 1h --all -o ids \\
      | eventix task retry -

  [dim]# just uids and tasks, no header, for awk[/dim]
  eventix task list --columns uid,task --no-headers

  [dim]# redraw every 2 seconds until Ctrl-C[/dim]
  eventix task list --status processing --watch
"""

DEFAULT_SORT = "-created_time"


def check_sort(sort: str) -> str:
    """The sort sent to the server, with every field checked (``uid`` is the stored ``_id``)."""
    # deferred: core.fields only to check a --sort, kept off `task list --help` (tests/test_startup.py)
    from eventix_cli.core.fields import TASK_FIELDS

    fields = []
    for raw in sort.split(","):
        part = raw.strip()
        name = part.removeprefix("-")
        if not name:
            raise UsageError(f"--sort {sort!r}: empty field name")
        if name == "uid":
            name = "_id"
        if name != "_id" and name not in TASK_FIELDS:
            raise UsageError(
                f"--sort: unknown field {name!r}",
                hint="sort on a task field such as created_time, eta, priority, status, task, uid",
            )
        fields.append(("-" if part.startswith("-") else "") + name)
    return ",".join(fields)


def list_tasks(
    ctx: typer.Context,
    status: StatusOption = None,
    task: TaskNameOption = None,
    unique_key: UniqueKeyFilterOption = None,
    older_than: OlderThanOption = None,
    newer_than: NewerThanOption = None,
    all_namespaces: AllNamespacesOption = False,
    limit: Annotated[int, typer.Option("--limit", "-l", min=1, help="Show at most this many tasks.")] = 50,
    all_: Annotated[
        bool,
        typer.Option("--all", help="Stream every match (uid order, constant memory); ignores --limit."),
    ] = False,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            help="Server-side sort: comma list of task fields, '-' for descending "
            f"(default: {DEFAULT_SORT}; --all is always in uid order).",
            show_default=False,
        ),
    ] = None,
    no_headers: NoHeadersOption = False,
    columns: ColumnsOption = None,
    watch: Annotated[
        bool,
        typer.Option("--watch", "-w", help="Redraw the table every --interval seconds (on a terminal)."),
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", "-i", min=0.2, help="Seconds between redraws with --watch.")
    ] = 2.0,
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """List tasks of a namespace (or all, with -A), filtered on the server where the API allows.

    Time filters (--older-than/--newer-than, on the created time) are applied by the client.
    The table shows the logical priority (higher runs first), the eta relative to now, the
    retries left and, for failed tasks, the error class; -o json and -o jsonl give the full
    task documents. When fewer tasks are shown than match, stderr says so in every format.
    """
    if all_ and sort is not None and check_sort(sort) not in ("_id",):
        raise UsageError(
            "--all streams every match in uid order and cannot sort",
            hint="use --limit N with --sort, or sort the output (e.g. -o jsonl | jq -s 'sort_by(.eta)')",
        )
    server_sort = check_sort(sort) if sort is not None else DEFAULT_SORT
    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    fmt = settings.output or "table"
    table = listing_columns(all_namespaces=all_namespaces, sort="_id" if all_ else server_sort)
    select_columns(csv_columns() if fmt == "csv" else table, columns)  # a bad name: exit 2 first
    query = build_query(
        settings,
        all_namespaces=all_namespaces,
        status=status,
        task=task,
        unique_key=unique_key,
        older_than=older_than,
        newer_than=newer_than,
    )
    if watch:
        _watch(
            client,
            query,
            fmt,
            limit=limit,
            sort=server_sort,
            headers=not no_headers,
            columns=select_columns(table, columns),
            interval=interval,
        )
        return
    with client:
        _list_once(
            client,
            query,
            fmt,
            all_=all_,
            limit=limit,
            sort=server_sort,
            headers=not no_headers,
            columns=columns,
            table=table,
        )


def _list_once(
    client: EventixClient,
    query: TaskQuery,
    fmt: str,
    *,
    all_: bool,
    limit: int,
    sort: str,
    headers: bool,
    columns: str | None,
    table: list[Column],
) -> None:
    shape = {"headers": headers, "columns": columns, "table": table, "pick_option": "--columns"}
    if all_:
        print_tasks(fmt, iter_matches(client, query), **shape)
        return
    tasks, total = first_matches(client, query, limit, sort)
    shown = print_tasks(fmt, tasks, **shape)
    note = shown_note(shown, total, limit)
    if note is not None:
        out.message(note)
    elif fmt == "table":
        if shown == 0:
            out.message("no tasks match")
        elif total is None:  # a time filter ran on the client: the server's total is not ours
            out.message(f"{shown:,} shown")
        else:
            out.message(f"{shown:,} of {total:,}")


def shown_note(shown: int, total: int | None, limit: int) -> str | None:
    """What stderr says in every format when a listing shows fewer tasks than match."""
    if total is None:
        if shown >= limit:
            return (
                f"{shown:,} shown; there may be more (time filters run on the client); --all for every match"
            )
        return None
    if shown < total:
        return f"{shown:,} of {total:,} shown; --all for every match"
    return None


def _watch(
    client: EventixClient,
    query: TaskQuery,
    fmt: str,
    *,
    limit: int,
    sort: str,
    headers: bool,
    columns: list[Column],
    interval: float,
) -> None:
    """Redraw the listing until Ctrl-C (exit 0), like ``kubectl get -w`` or ``watch``."""
    if fmt != "table" or not out.is_terminal():
        raise UsageError(
            "--watch redraws a table on a terminal",
            hint="in scripts, run `eventix task list` in a loop, or use `eventix task wait`",
        )
    chosen = columns
    printer = Output(fmt, headers=headers)
    try:
        with client:
            while True:
                tasks, total = first_matches(client, query, limit, sort)
                now = utcnow()
                lines = printer.table_lines((task_row(t, now) for t in tasks), chosen)
                counted = f"{len(tasks):,}" + ("" if total is None else f" of {total:,}")
                title = f"every {interval:g}s, Ctrl-C to stop   {now:%H:%M:%S} UTC   {counted}"
                out.redraw([title, "", *(lines or ["no tasks match"])])
                time.sleep(interval)
    except KeyboardInterrupt:
        return
