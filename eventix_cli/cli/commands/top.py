"""``eventix top``: the interactive view of the queues on a terminal (``cli/top``, Textual),
or one snapshot for scripts (``--once``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from eventix_cli.cli.options import (
    AllNamespacesOption,
    NamespaceOption,
    OutputOption,
    TimeoutOption,
    UrlOption,
)
from eventix_cli.cli.output import Column, Output, is_terminal, stream_text
from eventix_cli.cli.state import connect
from eventix_cli.core.errors import UsageError
from eventix_cli.core.times import format_duration, relative

if TYPE_CHECKING:
    from collections.abc import Callable

    from eventix_cli.client.api import EventixClient
    from eventix_cli.client.monitor import Snapshot
    from eventix_cli.core.view import TaskView

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
    counts = [
        Column("namespace", "NAMESPACE"),
        *(Column(s, s.upper(), justify="right", fmt=lambda v: f"{v:,}") for s in STATUS_ORDER),
        Column("total", "TOTAL", justify="right", fmt=lambda v: f"{v:,}", drop=1),
        Column(
            "oldest_due_seconds",
            "OLDEST DUE",
            justify="right",
            fmt=lambda v: "" if v is None else format_duration(v),
        ),
    ]
    errors = [
        Column("when", "WHEN"),
        Column("namespace", "NAMESPACE", drop=2),
        Column("task", "TASK"),
        Column("uid", "UID", min_width=32, drop=3),
        Column("error", "ERROR"),
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


def task_actions(client: EventixClient) -> dict[str, Callable[[TaskView], None]]:
    """The one call per task of each action of the view: those of `task retry`, `task cancel`
    (--force on a task the view showed as processing, and warned about) and `task purge`."""
    # deferred: the task commands only for the interactive view, kept off `top --once` and
    # `top --help` (tests/test_startup.py)
    from eventix_cli.cli.commands.task.cancel import cancel_one
    from eventix_cli.cli.commands.task.purge import purge_one
    from eventix_cli.cli.commands.task.retry import retry_one
    from eventix_cli.core.statuses import TaskStatus

    return {
        "retry": lambda task: retry_one(client, task.uid, None, False),
        "cancel": lambda task: cancel_one(client, task.uid, force=task.status == TaskStatus.processing),
        "delete": lambda task: purge_one(client, task.to_wire()),
    }


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
    output: OutputOption = None,
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
    where = None if all_namespaces else settings.namespace
    with client:
        if once:
            # deferred: the monitor brings concurrent.futures, kept off `top --help` (tests/test_startup.py)
            from eventix_cli.client.monitor import Monitor

            snapshot = Monitor(client, where).snapshot()
            out = Output(settings.output)
            if out.format == "table":
                label = "all namespaces" if where is None else f"namespace {where}"
                stream_text("\n".join(render(snapshot, label, None)) + "\n")
            else:
                out.document(snapshot.to_json())
            return
        # deferred: Textual only for the interactive view, kept off every other command and
        # off `top --help` and `top --once` (tests/test_startup.py)
        from eventix_cli.cli.top.app import TopApp
        from eventix_cli.cli.top.source import TopSource

        source = TopSource(client)
        try:
            app = TopApp(source, settings, namespace=where, interval=interval, per_task=task_actions(client))
            app.run()
        finally:
            source.close()
