"""``eventix task wait``: block until tasks are done or failed."""

from __future__ import annotations

from typing import Annotated

import typer

from eventix_cli.cli.commands.task.common import read_ids
from eventix_cli.cli.commands.task.waiting import wait_for
from eventix_cli.cli.completion import complete_task_ids
from eventix_cli.cli.options import OutputOption, TimeoutOption, UrlOption
from eventix_cli.cli.state import connect
from eventix_cli.core.errors import UsageError

EPILOG = """\
[bold]Examples[/bold]

  [dim]# in CI: enqueue, then fail the job when the task fails, or after 10 min[/dim]
  uid=$(eventix task add migrate_db) && eventix task wait "$uid" --timeout 600

  [dim]# let retries run; fail only when the task has failed for good[/dim]
  eventix task wait "$uid" --until-final --timeout 3600

  eventix task list --status scheduled --all -o ids | eventix task wait -
"""


UntilFinalOption = Annotated[
    bool,
    typer.Option(
        "--until-final",
        help="Wait through retries until done or error; by default the first failed attempt exits 1.",
    ),
]


def wait(
    ctx: typer.Context,
    ids: Annotated[
        list[str],
        typer.Argument(
            metavar="ID...",
            help="Task uids, or - to read them from stdin.",
            autocompletion=complete_task_ids,
        ),
    ],
    wait_timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", min=0.0, help="Give up after this many seconds (exit 124).", show_default=False
        ),
    ] = None,
    until_final: UntilFinalOption = False,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            "-n",
            help="Only find the tasks in this namespace (default: the uids wherever they are).",
            show_default=False,
        ),
    ] = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """Wait until every task is done, or one has failed.

    Exit 0 when all are done; 1 as soon as one has failed an attempt (its error class and
    message are printed; --until-final waits through retries until a task fails for good);
    124 when --timeout runs out; 4 when a task does not exist.
    """
    uids = read_ids(ids)
    if not uids:
        raise UsageError("no task ids given")
    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    with client:
        wait_for(
            client,
            uids,
            settings.output,
            timeout=wait_timeout,
            until_final=until_final,
            namespace=settings.namespace if namespace is not None else None,
        )
