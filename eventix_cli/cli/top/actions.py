"""What ``r``, ``c`` and ``ctrl+d`` do: one call per task, run by
:func:`~eventix_cli.cli.bulk.run_bulk` after a question. The calls are those of ``task retry``,
``task cancel`` and ``task purge``; ``eventix top`` (cli/commands/top.py) hands them to the app,
so this package imports no command. Read-only mode refuses before anything is asked or sent."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventix_cli.cli.bulk import BulkResult, run_bulk
from eventix_cli.config import require_writable
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.text import escape

if TYPE_CHECKING:
    from eventix_cli.config import Settings
    from eventix_cli.core.view import TaskView

LISTED = 8  # tasks named in a question; the rest are counted


@dataclass(frozen=True, slots=True)
class TaskAction:
    key: str  # its name in the view and in PerTask
    name: str  # as the bulk commands name their action
    verb: str  # as their summary says it
    ask: str  # the question's first word
    refused: str  # what read-only mode refuses to do


ACTIONS = {
    "retry": TaskAction("retry", "retry", "retried", "Retry", "retry tasks"),
    "cancel": TaskAction("cancel", "cancel", "cancelled", "Cancel", "cancel tasks"),
    "delete": TaskAction("delete", "purge", "deleted", "Delete", "delete tasks"),
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
    lines += [f"  {t.uid}  {escape(t.task)}  ({t.status.value})" for t in tasks[:LISTED]]
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


#: the one call an action makes per task, by action name ("retry", "cancel", "delete")
#: an action's run: a context (one journal entry for the tasks one question confirmed) that
#: gives the one call per task
Batch = Callable[[], AbstractContextManager[Callable[["TaskView"], Any]]]
PerTask = Mapping[str, Batch]


def run_action(action: TaskAction, per_task: PerTask, tasks: Sequence[TaskView]) -> BulkResult:
    """Apply the action to every task (blocking: run it off the UI thread)."""
    with per_task[action.key]() as call:
        return run_bulk(action.name, list(tasks), call, key=lambda t: t.uid)


def report(action: TaskAction, result: BulkResult) -> str:
    """The outcome in one line, as the bulk commands summarise it (the first reason included;
    task data escaped)."""
    lines = result.summary(action.verb, shown=1)
    if result.error is not None:
        lines.append(f"stopped: {result.error.message}")
    return escape("; ".join(line.strip() for line in lines))
