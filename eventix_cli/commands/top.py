"""``eventix top``: a live, full-screen view of the queues."""

from __future__ import annotations

import contextlib
import select
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from eventix_cli.commands.options import NamespaceOption, OutputOption, TimeoutOption, UrlOption
from eventix_cli.commands.task.common import AllNamespacesOption
from eventix_cli.errors import UsageError

if TYPE_CHECKING:
    from rich.console import RenderableType

    from eventix_cli.monitor import Snapshot

EPILOG = """\
[bold]Examples[/bold]

  eventix top -A --interval 5
  eventix top -n billing --once -o json | jq .done_per_minute
"""


def render(snapshot: Snapshot, where: str, interval: float | None) -> RenderableType:
    """The whole screen: counts per namespace, rates, the oldest due task, the latest errors."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from eventix_cli.monitor import STATUS_ORDER
    from eventix_cli.timeparse import format_duration, relative

    def rate(value: float | None) -> str:
        return "–" if value is None else f"{value:,.1f}/min"

    head = Text.assemble(
        ("eventix top", "bold"),
        f"  {where}  {snapshot.taken:%H:%M:%S} UTC",
        f"  every {interval:g}s, q to quit" if interval else "",
    )
    rates = Text.assemble(
        "done ",
        (rate(snapshot.done_per_minute), "green"),
        "   failed ",
        (rate(snapshot.failed_per_minute), "red"),
    )
    counts = Table(expand=False, header_style="bold", box=None, pad_edge=False)
    counts.add_column("NAMESPACE")
    for status in STATUS_ORDER:
        counts.add_column(status.upper(), justify="right")
    counts.add_column("TOTAL", justify="right")
    counts.add_column("OLDEST DUE", justify="right")
    for row in snapshot.rows:
        waited = row["oldest_due_seconds"]
        counts.add_row(
            row["namespace"],
            *(f"{row[s]:,}" for s in STATUS_ORDER),
            f"{row['total']:,}",
            "" if waited is None else format_duration(waited),
        )
    if not snapshot.rows:
        counts.add_row("(no tasks)")
    errors = Table(title="latest errors", title_justify="left", box=None, header_style="bold", pad_edge=False)
    for name in ("WHEN", "NAMESPACE", "TASK", "UID", "ERROR"):
        errors.add_column(name, no_wrap=name != "ERROR", overflow="ellipsis")
    for error in snapshot.errors:
        errors.add_row(
            relative(error["updated_time"], snapshot.taken),
            error["namespace"],
            error["task"],
            error["uid"],
            f"{error['error_class']}: {error['error_message']}",
        )
    if not snapshot.errors:
        errors.add_row("", "", "", "", "(none)")
    return Group(head, rates, Text(""), counts, Text(""), errors)


@contextlib.contextmanager
def _keys() -> Iterator[None]:
    """stdin in cbreak mode (single key presses, no echo) while the view runs."""
    import termios
    import tty

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
    output: OutputOption = None,
) -> None:
    """A live view: counts per namespace and status, tasks done and failed per minute (as
    observed), how long the oldest due task has waited, and the latest errors.

    q or Ctrl-C quits. Off a terminal it refuses: use `eventix stats`, or --once.
    """
    from eventix_cli.commands.task.common import connect
    from eventix_cli.monitor import Monitor
    from eventix_cli.output import Output, is_terminal, make_console

    if not once and not (is_terminal(sys.stdout) and is_terminal(sys.stdin)):
        raise UsageError(
            "eventix top needs a terminal",
            hint="for scripts use `eventix stats` or `eventix top --once`",
        )
    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    where = "all namespaces" if all_namespaces else f"namespace {settings.namespace}"
    with client:
        monitor = Monitor(client, None if all_namespaces else settings.namespace)
        if once:
            snapshot = monitor.snapshot()
            out = Output(settings.output)
            if out.format == "table":
                make_console().print(render(snapshot, where, None))
            else:
                out.document(snapshot.to_json())
            return
        from rich.live import Live

        console = make_console()
        with _keys(), Live(console=console, screen=True, auto_refresh=False) as live:
            while True:
                live.update(render(monitor.snapshot(), where, interval), refresh=True)
                if _quit_pressed(interval):
                    return
