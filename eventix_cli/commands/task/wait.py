"""``eventix task wait``: block until tasks are done or failed."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from eventix_cli.commands.options import OutputOption, TimeoutOption, UrlOption, _complete_task_ids
from eventix_cli.commands.task.common import connect, read_ids
from eventix_cli.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from eventix_cli.client import EventixClient
    from eventix_cli.models import Task

EPILOG = """\
[bold]Examples[/bold]

  [dim]# in CI: enqueue, then fail the job if the task fails or takes over 10 minutes[/dim]
  uid=$(eventix task add migrate_db) && eventix task wait "$uid" --timeout 600

  eventix task list --status scheduled -o ids | eventix task wait -
"""

POLL_START = 0.2
POLL_MAX = 2.0


def wait_for(
    client: EventixClient,
    uids: list[str],
    fmt: str | None,
    *,
    timeout: float | None = None,
    sleep=time.sleep,
) -> None:
    """Poll until every task is done or error; print them; exit 0 / 1 (any error) / 124 (timeout)."""
    from eventix_cli import output
    from eventix_cli.commands.task.common import print_tasks
    from eventix_cli.errors import TaskNotFound
    from eventix_cli.models import FINAL_STATUSES

    deadline = None if timeout is None else time.monotonic() + timeout
    finished: dict[str, Task] = {}
    pending = list(uids)
    delay = POLL_START
    while True:
        page = client.by_status(filter={"_id": {"$in": pending}})
        found = {t.uid: t for t in page.tasks}
        missing = [uid for uid in pending if uid not in found]
        if missing:
            raise TaskNotFound(
                f"task {missing[0]} not found"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                status_code=404,
                server_error_class="NotFound",
                payload={"uids": missing},
            )
        for uid, task in found.items():
            if task.status in FINAL_STATUSES:
                finished[uid] = task
        pending = [uid for uid in pending if uid not in finished]
        if not pending:
            break
        if deadline is not None and time.monotonic() >= deadline:
            print_tasks(fmt, [finished.get(uid) or found[uid] for uid in uids])
            output.message(f"timed out after {timeout:g}s: {len(pending)} task(s) not finished")
            raise typer.Exit(int(ExitCode.TIMEOUT))
        pause = delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic()))
        sleep(pause)
        delay = min(POLL_MAX, delay * 1.5)

    tasks = [finished[uid] for uid in uids]
    print_tasks(fmt, tasks)
    failed = [t for t in tasks if t.status.value == "error"]
    for task in failed:
        error = task.error
        reason = f"{error.error_class}: {error.error_message}" if error else "no error details"
        output.message(f"error: task {task.uid} ({task.task}) failed: {reason}")
    if failed:
        raise typer.Exit(int(ExitCode.FAILURE))


def wait(
    ctx: typer.Context,
    ids: Annotated[
        list[str],
        typer.Argument(
            metavar="ID...",
            help="Task uids, or - to read them from stdin.",
            autocompletion=_complete_task_ids,
        ),
    ],
    wait_timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", "-w", min=0.0, help="Give up after this many seconds (exit 124).", show_default=False
        ),
    ] = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """Wait until every task is done or failed.

    Exit 0 when all are done, 1 when any failed (its error is printed), 124 when
    --timeout runs out, 4 when a task does not exist.
    """
    uids = read_ids(ids)
    if not uids:
        raise UsageError("no task ids given")
    settings, client = connect(ctx, url=url, timeout=timeout, output=output)
    with client:
        wait_for(client, uids, settings.output, timeout=wait_timeout)
