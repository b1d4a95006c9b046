"""Waiting for tasks to finish: shared by `task wait` and `task add --wait`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from eventix_cli.cli import output
from eventix_cli.cli.commands.task.rendering import print_tasks, wait_columns
from eventix_cli.core.errors import ExitCode, TaskNotFound
from eventix_cli.core.statuses import FINAL_STATUSES

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.view import TaskView

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
            print_tasks(fmt, [latest[uid] for uid in uids], table=wait_columns())
            output.message(
                f"error: timed out after {timeout:g}s: {len(pending)} task(s) not finished (WaitTimeout)"
            )
            raise typer.Exit(int(ExitCode.TIMEOUT))
        pause = delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic()))
        sleep(pause)
        delay = min(POLL_MAX, delay * 1.5)

    tasks = [latest[uid] for uid in uids]
    print_tasks(fmt, tasks, table=wait_columns())
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
