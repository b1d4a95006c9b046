"""``eventix top``: a live, full-screen view of the queues."""

from __future__ import annotations

import contextlib
import select
import sys
import termios
import tty
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from eventix_cli.cli.options import (
    AllNamespacesOption,
    NamespaceOption,
    ReportOutputOption,
    TimeoutOption,
    UrlOption,
)
from eventix_cli.cli.output import Column, Output, is_terminal, make_console, refuse_ids, stream_text
from eventix_cli.cli.state import connect
from eventix_cli.cli.tables import CUT_FIRST, CUT_LAST, count_column
from eventix_cli.core.errors import UsageError
from eventix_cli.core.times import format_duration, relative

if TYPE_CHECKING:
    from eventix_cli.client.monitor import Snapshot

EPILOG = """\
[bold]Examples[/bold]

  eventix top -A --interval 5
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


@contextlib.contextmanager
def _keys() -> Iterator[None]:
    """stdin in cbreak mode (single key presses, no echo) while the view runs."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _quit_pressed(timeout: float) -> bool:
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    return bool(ready) and sys.stdin.read(1).lower() == "q"


def top(
    ctx: typer.Context,
    all_namespaces: AllNamespacesOption = False,
    interval: Annotated[
        float, typer.Option("--interval", "-i", min=0.2, help="Seconds between refreshes.")
    ] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="Print one snapshot and exit (for scripts).")] = False,
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: ReportOutputOption = None,
) -> None:
    """A live view: counts per namespace and status, tasks done and failed per minute (as
    observed), how long the oldest due task has waited, and the latest errors.

    q or Ctrl-C quits. Off a terminal it refuses: use `eventix stats`, or --once.
    """
    # deferred: concurrent.futures, as in render
    from eventix_cli.client.monitor import STATUS_ORDER, Monitor

    if not once and not (is_terminal(sys.stdout) and is_terminal(sys.stdin)):
        raise UsageError(
            "eventix top needs a terminal",
            hint="for scripts use `eventix stats` or `eventix top --once`",
        )
    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    refuse_ids(settings.output, "top reports counts, not tasks", "-o json, -o csv or -o table")
    where = "all namespaces" if all_namespaces else f"namespace {settings.namespace}"
    with client:
        monitor = Monitor(client, None if all_namespaces else settings.namespace)
        if once:
            snapshot = monitor.snapshot()
            out = Output(settings.output)
            if out.format == "table":
                stream_text("\n".join(render(snapshot, where, None)) + "\n")
            elif out.format == "csv":  # one table of plain cells: the counts per namespace
                fields = ("namespace", *STATUS_ORDER, "total", "oldest_due_seconds")
                out.records(snapshot.rows, [Column(k, k) for k in fields])
            else:
                out.document(snapshot.to_json())
            return
        # deferred: rich only for the live view, kept off `top --once` (and rich.live off
        # `top --help`; tests/test_startup.py)
        from rich.live import Live
        from rich.text import Text

        console = make_console()
        with _keys(), Live(console=console, screen=True, auto_refresh=False) as live:
            while True:
                lines = render(monitor.snapshot(), where, interval, width=console.width)
                live.update(Text("\n".join(lines), no_wrap=True, overflow="ellipsis"), refresh=True)
                if _quit_pressed(interval):
                    return
