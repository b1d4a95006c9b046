"""``eventix task list``."""

from __future__ import annotations

from typing import Annotated

import typer

from eventix_cli.commands.options import NamespaceOption, OutputOption, TimeoutOption, UrlOption
from eventix_cli.commands.task.common import (
    AllNamespacesOption,
    NewerThanOption,
    OlderThanOption,
    StatusOption,
    TaskNameOption,
    UniqueKeyFilterOption,
    connect,
)

EPILOG = """\
[bold]Examples[/bold]

  [dim]# failed tasks of one function, newest first[/dim]
  eventix task list --status error --task send_invoice

  [dim]# every error id of the last hour, into a retry[/dim]
  eventix task list --status error --newer-than 1h --all -o ids | eventix task retry -
"""


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
        bool, typer.Option("--all", help="Stream every match (uid order, constant memory); ignores --limit.")
    ] = False,
    sort: Annotated[
        str,
        typer.Option("--sort", help="Server-side sort: comma list of fields, '-' for descending."),
    ] = "-created_time",
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """List tasks of a namespace (or all, with -A), filtered on the server where the API allows.

    Time filters (--older-than/--newer-than, on the created time) are applied by the client.
    The table shows the logical priority (higher runs first) and the eta relative to now; -o json
    and -o jsonl give the full task documents.
    """
    from eventix_cli import output as out
    from eventix_cli.commands.task.common import build_query, print_tasks

    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    query = build_query(
        settings,
        all_namespaces=all_namespaces,
        status=status,
        task=task,
        unique_key=unique_key,
        older_than=older_than,
        newer_than=newer_than,
    )
    with client:
        if all_:
            shown = print_tasks(settings.output, query.iter_all(client))
            total: int | None = shown
        else:
            tasks, total = query.first(client, limit, sort)
            shown = print_tasks(settings.output, tasks)
    if (settings.output or "table") == "table":
        if shown == 0:
            out.message("no tasks match")
        elif total is None:
            out.message(f"{shown:,} shown (time filters applied by the client; there may be more)")
        else:
            out.message(f"{shown:,} of {total:,}")
