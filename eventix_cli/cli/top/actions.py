"""What ``r``, ``c`` and ``ctrl+d`` do: the per-task functions of ``task retry``, ``task
cancel`` and ``task purge`` (one call per task), run by :func:`~eventix_cli.cli.bulk.run_bulk`
after a question. Read-only mode refuses before anything is asked or sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eventix_cli.cli.bulk import BulkResult, run_bulk
from eventix_cli.cli.commands.task.cancel import cancel_one
from eventix_cli.cli.commands.task.purge import purge_one
from eventix_cli.cli.commands.task.retry import retry_one
from eventix_cli.config import require_writable
from eventix_cli.core.statuses import TaskStatus

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.config import Settings
    from eventix_cli.core.view import TaskView

LISTED = 8  # tasks named in a question; the rest are counted


@dataclass(frozen=True, slots=True)
class TaskAction:
    name: str  # as the bulk commands name their action
    verb: str  # as their summary says it
    ask: str  # the question's first word
    refused: str  # what read-only mode refuses to do


ACTIONS = {
    "retry": TaskAction("retry", "retried", "Retry", "retry tasks"),
    "cancel": TaskAction("cancel", "cancelled", "Cancel", "cancel tasks"),
    "delete": TaskAction("purge", "deleted", "Delete", "delete tasks"),
}

#: what `task cancel --force` does to a processing task, said before it is done
CANCEL_RUNNING_WARNING = (
    "{n} processing task(s) will be ended at once as error TaskCancelled (no retry): "
    "the worker discards the result when it finishes; the task's code is not interrupted"
)


def check_writable(settings: Settings, action: TaskAction) -> None:
    """Raise ReadOnlyError when read-only mode is on (nothing is sent)."""
    require_writable(settings, action.refused)


def question(action: TaskAction, tasks: Sequence[TaskView]) -> str:
    """How many and which: the dialog's text."""
    lines = [f"{action.ask} {len(tasks):,} task(s)?", ""]
    lines += [f"  {t.uid}  {t.task}  ({t.status.value})" for t in tasks[:LISTED]]
    if len(tasks) > LISTED:
        lines.append(f"  ... and {len(tasks) - LISTED:,} more")
    warning = _warning(action, tasks)
    if warning:
        lines += ["", warning]
    return "\n".join(lines)


def _warning(action: TaskAction, tasks: Sequence[TaskView]) -> str | None:
    running = sum(1 for t in tasks if t.status == TaskStatus.processing)
    if not running:
        return None
    if action is ACTIONS["cancel"]:
        return "warning: " + CANCEL_RUNNING_WARNING.format(n=f"{running:,}")
    if action is ACTIONS["delete"]:
        return f"{running:,} processing task(s) are skipped: processing tasks are never deleted"
    return None


def per_task(action: TaskAction, client: EventixClient) -> Callable[[TaskView], None]:
    """The one call each task gets, as the CLI command makes it."""
    if action is ACTIONS["retry"]:
        return lambda task: retry_one(client, task.uid, None, False)
    if action is ACTIONS["cancel"]:
        # --force only for a task the dialog showed as processing, and warned about
        return lambda task: cancel_one(client, task.uid, force=task.status == TaskStatus.processing)
    return lambda task: purge_one(client, task.to_wire())


def run_action(action: TaskAction, client: EventixClient, tasks: Sequence[TaskView]) -> BulkResult:
    """Apply the action to every task (blocking: run it off the UI thread)."""
    return run_bulk(action.name, list(tasks), per_task(action, client), key=lambda t: t.uid)


def report(action: TaskAction, result: BulkResult) -> str:
    """The outcome in one line, as the bulk commands summarise it (the first reason included)."""
    lines = result.summary(action.verb, shown=1)
    if result.error is not None:
        lines.append(f"stopped: {result.error.message}")
    return ";".join(lines)
