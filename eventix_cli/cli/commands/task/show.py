"""``eventix task show``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from eventix_cli.cli import output as out
from eventix_cli.cli.completion import complete_task_ids
from eventix_cli.cli.options import (
    NamespaceOption,
    OutputOption,
    TimeoutOption,
    UrlOption,
)
from eventix_cli.cli.output import Output
from eventix_cli.cli.state import connect
from eventix_cli.core.errors import UsageError
from eventix_cli.core.fields import TASK_FIELDS, Kind
from eventix_cli.core.times import relative, utcnow

EPILOG = """\
[bold]Examples[/bold]

  eventix task show 3f2a9c0e8d7b4a1f9e6d5c4b3a291807
  eventix task show --unique-key report:2026-11 -n billing -o json \\
      | jq .result
"""


def show(
    ctx: typer.Context,
    uid: Annotated[
        str | None,
        typer.Argument(help="The task's uid.", show_default=False, autocompletion=complete_task_ids),
    ] = None,
    unique_key: Annotated[
        str | None,
        typer.Option(
            "--unique-key",
            "-k",
            help="Find the task by unique key instead (in -n NAMESPACE).",
            show_default=False,
        ),
    ] = None,
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """Show every field of one task; for a failed task its error and traceback, readably.

    -o json prints the raw document. By unique key, the pending task (scheduled or retry) is
    preferred; otherwise the most relevant one in any status.
    """
    if (uid is None) == (unique_key is None):
        raise UsageError("give a task uid or --unique-key KEY (one of them)")
    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    with client:
        if uid is not None:
            task = client.get_task(uid)
        else:
            # deferred: task.common (its query, rendering and selection modules) only for
            # --unique-key, kept off `task show UID` (tests/test_startup.py)
            from eventix_cli.cli.commands.task.common import no_task_for_unique_key, tasks_by_unique_key

            found = tasks_by_unique_key(client, settings.namespace, unique_key)
            if not found:
                raise no_task_for_unique_key(settings.namespace, unique_key)
            task = found[0]
    printer = Output(settings.output)
    if printer.format != "table":
        printer.document(task.to_wire())
        return
    doc = task.to_wire()
    doc["priority"] = f"{task.logical_priority} (stored {task.priority})"
    now = utcnow()
    for name, field in TASK_FIELDS.items():
        value = getattr(task, name, None)
        if field.kind in (Kind.TIME, Kind.OPT_TIME) and isinstance(value, dt.datetime) and doc.get(name):
            doc[name] = f"{doc[name]} ({relative(value, now)})"
    error = task.error
    if error is not None:
        doc.pop("result")
    printer.document(doc)
    if error is not None:
        out.line("")
        out.line(out.heading("Task error"))
        lines = [f"class    {error.error_class}", f"message  {error.error_message}"]
        if error.traceback_text:
            lines += ["", *task_frames(error.traceback_text)]
        out.line(out.escape("\n".join(lines), keep_newlines=True))


#: where the worker's own frames come from: they say how the task was called, not what failed
WORKER_FRAMES = "eventix_cli/worker/"


def task_frames(traceback_text: str) -> list[str]:
    """The lines of a stored traceback without the worker's own frames (a note says how
    many were left out)."""
    kept: list[str] = []
    skipping = False
    left_out = 0
    for line in traceback_text.rstrip().splitlines():
        if line.startswith("  File "):
            skipping = WORKER_FRAMES in line.replace("\\", "/")
            left_out += skipping
        elif not line.startswith("    "):
            skipping = False
        if not skipping:
            kept.append(line)
    if left_out:
        kept.append(f"({left_out} frame(s) of the eventix worker left out)")
    return kept
