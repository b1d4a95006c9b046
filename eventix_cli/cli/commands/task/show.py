"""``eventix task show``."""

from __future__ import annotations

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
    error = task.error
    if error is not None:
        doc.pop("result")
    printer.document(doc)
    if error is not None:
        lines = [f"error: {error.error_class}: {error.error_message}"]
        if error.traceback_text:
            lines.append(error.traceback_text.rstrip())
        out.line("")
        out.line(out.escape("\n".join(lines), keep_newlines=True))
