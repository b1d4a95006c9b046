"""``eventix task wait``: block until tasks are done or failed."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from eventix_cli.cli.commands.task.common import read_ids
from eventix_cli.cli.completion import complete_task_ids
from eventix_cli.cli.options import OutputOption, TimeoutOption, UrlOption
from eventix_cli.cli.state import connect
from eventix_cli.core.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.view import TaskView

EPILOG = """\
[bold]Examples[/bold]

  [dim]# in CI: enqueue, then fail the job as soon as the task fails, or after 10 minutes[/dim]
  uid=$(eventix task add migrate_db) && eventix task wait "$uid" --timeout 600

  [dim]# let retries run; fail only when the task has failed for good[/dim]
  eventix task wait "$uid" --until-final --timeout 3600

  eventix task list --status scheduled --all -o ids | eventix task wait -
"""

POLL_START = 0.2
POLL_MAX = 2.0


def failed_attempt(task: TaskView, until_final: bool) -> bool:
    """Has this task failed in a way the wait reports? For good (``error``) always; an attempt
    that will be retried (``retry``) too, unless ``until_final`` waits through retries."""
    if task.status.value == "error":
        return True
    return not until_final and task.status.value == "retry"


def wait_for(
    client: EventixClient,
    uids: list[str],
    fmt: str | None,
    *,
    timeout: float | None = None,
    until_final: bool = False,
    namespace: str | None = None,
    sleep=time.sleep,
) -> None:
    """Poll until every task is done, or one has failed (an attempt, or for good with
    ``until_final``); print them; exit 0 / 1 (a failure) / 124 (timeout).

    Retries are unlimited by default, so without ``until_final`` the first failed attempt
    ends the wait: a CI job learns of a failing task at once, not when the timeout runs out.
    """
    from eventix_cli.cli import output
    from eventix_cli.cli.commands.task.common import print_tasks
    from eventix_cli.core.errors import TaskNotFound
    from eventix_cli.core.statuses import FINAL_STATUSES

    deadline = None if timeout is None else time.monotonic() + timeout
    latest: dict[str, TaskView] = {}
    pending = list(uids)
    delay = POLL_START
    failed: list[TaskView] = []
    while True:
        query: dict = {"_id": {"$in": pending}}
        if namespace is not None:
            query["namespace"] = namespace
        page = client.by_status(filter=query)
        found = {t.uid: t for t in page.tasks}
        missing = [uid for uid in pending if uid not in found]
        if missing:
            where = "" if namespace is None else f" in namespace {namespace}"
            raise TaskNotFound(
                f"task {missing[0]} not found{where}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                status_code=404,
                server_error_class="NotFound",
                payload={"uids": missing},
            )
        latest.update(found)
        failed = [found[uid] for uid in pending if failed_attempt(found[uid], until_final)]
        pending = [uid for uid in pending if found[uid].status not in FINAL_STATUSES]
        if failed or not pending:
            break
        if deadline is not None and time.monotonic() >= deadline:
            print_tasks(fmt, [latest[uid] for uid in uids])
            output.message(
                f"error: timed out after {timeout:g}s: {len(pending)} task(s) not finished (WaitTimeout)"
            )
            raise typer.Exit(int(ExitCode.TIMEOUT))
        pause = delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic()))
        sleep(pause)
        delay = min(POLL_MAX, delay * 1.5)

    tasks = [latest[uid] for uid in uids]
    print_tasks(fmt, tasks)
    failed = failed or [t for t in tasks if t.status.value == "error"]
    for task in failed:
        error = task.error
        reason = f"{error.error_class}: {error.error_message}" if error else "no error details"
        if task.status.value == "retry":
            left = "unlimited" if task.max_retries is None else f"{task.max_retries}"
            output.message(
                f"error: task {task.uid} ({task.task}) failed an attempt: {reason} "
                f"(it will be retried; retries left: {left})"
            )
        else:
            output.message(f"error: task {task.uid} ({task.task}) failed: {reason}")
    if failed:
        if any(t.status.value == "retry" for t in failed):
            output.message("hint: --until-final keeps waiting through retries")
        raise typer.Exit(int(ExitCode.FAILURE))


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
            "--timeout", "-w", min=0.0, help="Give up after this many seconds (exit 124).", show_default=False
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
