"""``eventix top``: the interactive view of the queues on a terminal (``cli/top``, Textual),
or one snapshot for scripts (``--once``)."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.cli.options import (
    AllNamespacesOption,
    NamespaceOption,
    ReportOutputOption,
    TimeoutOption,
    UrlOption,
)
from eventix_cli.cli.output import Column, Output, is_terminal, refuse_ids, stream_text
from eventix_cli.cli.state import connect
from eventix_cli.cli.tables import CUT_FIRST, CUT_LAST, count_column
from eventix_cli.core.errors import UsageError
from eventix_cli.core.times import format_duration, relative

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from eventix_cli.cli.top.actions import Batch
    from eventix_cli.client.api import EventixClient
    from eventix_cli.client.monitor import Snapshot
    from eventix_cli.config import Settings
    from eventix_cli.core.view import TaskView
    from eventix_cli.journal.writer import Entry, NoEntry

EPILOG = """\
[bold]Examples[/bold]

  eventix top -A --interval 5
  eventix top -n billing --read-only
  eventix top -n billing --once -o json | jq .done_per_minute
"""


def render(snapshot: Snapshot, where: str, interval: float | None, width: int | None = None) -> list[str]:
    """The whole screen as plain lines fitted to ``width``: counts per namespace, rates, the
    oldest due task, the latest errors (one line each; task data escaped)."""
    # deferred: the monitor brings concurrent.futures, kept off `top --help` (tests/test_startup.py)
    from eventix_cli.client.monitor import RATE_CAP, STATUS_ORDER

    def rate(value: int | None) -> str:
        if value is None:
            return "–"
        return f"{'>=' if value >= RATE_CAP else ''}{value:,}/min"

    head = f"eventix top  {where}  {snapshot.taken:%H:%M:%S} UTC"
    if interval:
        head += f"  every {interval:g}s, q to quit"
    rates = (
        f"done {rate(snapshot.done_per_minute)}   failed {rate(snapshot.failed_per_minute)}   (last minute)"
    )
    table = Output("table", width=width)
    counts = [  # as in `eventix stats`: a status counted 0 everywhere goes first, TOTAL stays
        Column("namespace", "NAMESPACE"),
        *(count_column(s, s.upper(), idle_drop=True) for s in STATUS_ORDER),
        count_column("total", "TOTAL"),
        Column(
            "oldest_due_seconds",
            "OLDEST DUE",
            justify="right",
            fmt=lambda v: "" if v is None else format_duration(v),
            drop=1,
        ),
    ]
    errors = [  # the error is what this table is for: a uid is shortened before it
        Column("when", "WHEN"),
        Column("namespace", "NAMESPACE", idle_drop=True),
        Column("task", "TASK"),
        Column("uid", "UID", cut=CUT_FIRST),
        Column("error", "ERROR", cut=CUT_LAST),
    ]
    error_rows = [
        {
            **error,
            "when": relative(error["updated_time"], snapshot.taken),
            "error": f"{error['error_class']}: {error['error_message']}",
        }
        for error in snapshot.errors
    ]
    lines = [head, rates, ""]
    lines += table.table_lines(snapshot.rows, counts) or ["(no tasks)"]
    lines += ["", "latest errors"]
    lines += table.table_lines(error_rows, errors) or ["(none)"]
    return lines


def task_actions(
    client: EventixClient, settings: Settings, ctx: typer.Context | None = None
) -> dict[str, Batch]:
    """Each action of the view as a batch: one journal entry for the tasks one question
    confirmed (`eventix undo` undoes it as it undoes the task commands), and in it the one call
    per task of `task retry`, `task cancel` (--force on a task the view showed as processing,
    and warned about) and `task purge`."""
    # deferred: the task commands only for the interactive view, kept off `top --once` and
    # `top --help` (tests/test_startup.py)
    from eventix_cli.cli.commands.task.cancel import cancel_one
    from eventix_cli.cli.commands.task.purge import purge_one
    from eventix_cli.cli.commands.task.retry import retry_one
    from eventix_cli.cli.journaling import journaled
    from eventix_cli.core.statuses import TaskStatus

    def delete(task: TaskView, entry: Entry | NoEntry) -> None:
        document = task.to_wire()
        entry.before("delete", [document])  # as `task purge` records its listing
        purge_one(client, document, entry)

    def edit(task: TaskView, entry: Entry | NoEntry) -> TaskView | None:
        # deferred: the editor flow (subprocess, tempfile) only when `e` is pressed
        from eventix_cli.cli.commands.task.editing import edit_and_retry

        return edit_and_retry(client, task.uid, entry=entry)

    calls: dict[str, Callable[[TaskView, Entry | NoEntry], Any]] = {
        "retry": lambda task, entry: retry_one(client, task.uid, None, False, entry=entry),
        "cancel": lambda task, entry: cancel_one(
            client, task.uid, force=task.status == TaskStatus.processing, entry=entry
        ),
        "delete": delete,
        "edit": edit,
    }

    def batch(key: str) -> Batch:
        @contextlib.contextmanager
        def opened() -> Iterator[Callable[[TaskView], Any]]:
            with journaled(
                ctx, settings, f"top {key}", no_journal=False, namespace=settings.namespace
            ) as entry:
                yield lambda task: calls[key](task, entry)

        return opened

    return {key: batch(key) for key in calls}


def top(
    ctx: typer.Context,
    all_namespaces: AllNamespacesOption = False,
    interval: Annotated[
        float, typer.Option("--interval", "-i", min=0.2, help="Seconds between refreshes.")
    ] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="Print one snapshot and exit (for scripts).")] = False,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only",
            help="Refuse every action of the view (retry, cancel, delete), as EVENTIX_READ_ONLY "
            "or a read-only profile do.",
        ),
    ] = False,
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: ReportOutputOption = None,
) -> None:
    """The interactive view: namespaces (-A), the tasks of one namespace (-n), a task, the
    running tasks by worker; retry, cancel and delete tasks from it, each asked first.

    ? shows every key; q or Ctrl-C quits. --once prints one snapshot (counts per namespace
    and status, done and failed in the last minute, the oldest due task, the latest errors).
    Off a terminal it refuses: use `eventix stats`, or --once.
    """
    if not once and not (is_terminal(sys.stdout) and is_terminal(sys.stdin)):
        raise UsageError(
            "eventix top needs a terminal",
            hint="for scripts use `eventix stats` or `eventix top --once`",
        )
    settings, client = connect(
        ctx, url=url, timeout=timeout, output=output, namespace=namespace, read_only=read_only or None
    )
    refuse_ids(settings.output, "top reports counts, not tasks", "-o json, -o csv or -o table")
    where = None if all_namespaces else settings.namespace
    with client:
        if once:
            # deferred: the monitor brings concurrent.futures, kept off `top --help` (tests/test_startup.py)
            from eventix_cli.client.monitor import STATUS_ORDER, Monitor

            snapshot = Monitor(client, where).snapshot()
            out = Output(settings.output)
            if out.format == "table":
                label = "all namespaces" if where is None else f"namespace {where}"
                stream_text("\n".join(render(snapshot, label, None)) + "\n")
            elif out.format == "csv":  # one table of plain cells: the counts per namespace
                fields = ("namespace", *STATUS_ORDER, "total", "oldest_due_seconds")
                out.records(snapshot.rows, [Column(k, k) for k in fields])
            else:
                out.document(snapshot.to_json())
            return
        # deferred: Textual only for the interactive view, kept off every other command and
        # off `top --help` and `top --once` (tests/test_startup.py)
        from eventix_cli.cli.top.app import TopApp
        from eventix_cli.cli.top.source import TopSource

        source = TopSource(client)
        try:
            app = TopApp(
                source,
                settings,
                namespace=where,
                interval=interval,
                per_task=task_actions(client, settings, ctx),
            )
            app.run()
        finally:
            source.close()
