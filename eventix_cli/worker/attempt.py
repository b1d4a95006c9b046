"""One attempt of one task -> its outcome (done, retry or error). Never raises.

Task code can do anything: raise any ``BaseException`` (``sys.exit()``, ``KeyboardInterrupt``,
``SystemExit``), raise exceptions whose ``__str__`` raises. All of it is a failed attempt, not
the worker's business: tasks run in worker threads, where a real SIGINT/SIGTERM never arrives
(stop signals only set flags, relayed by a thread of their own), so a ``KeyboardInterrupt``
seen here came from the task itself.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from eventix_cli.core.outcome import apply_failure, apply_success, describe, error_result, not_registered
from eventix_cli.worker.context import task_context

if TYPE_CHECKING:
    from eventix_cli.core.task import Task
    from eventix_cli.worker.registry import TaskRegistry

log = logging.getLogger(__name__)


def run_attempt(task: Task, registry: TaskRegistry, namespace: str, worker_id: str) -> Task:
    """Run ``task`` once; a copy of it carrying the outcome (status, result, eta, ...)."""
    extra = {"task_uid": task.uid, "task_name": task.task, "namespace": namespace}
    outcome = task.model_copy()
    entry = registry.get(task.task)
    if entry is None:
        log.error("task %s: %r is not registered in this worker", task.uid, task.task, extra=extra)
        apply_failure(outcome, not_registered(task.task))
        return outcome
    try:
        with task_context(task, namespace, worker_id):
            result = entry.run(list(task.args), dict(task.kwargs))
    except BaseException as exc:
        # one line for the log; the traceback is stored with the task (and logged at DEBUG)
        log.warning(
            "task %s %s raised %s: %s", task.uid, task.task, type(exc).__name__, describe(exc), extra=extra
        )
        if log.isEnabledFor(logging.DEBUG):
            log.debug("traceback of task %s", task.uid, exc_info=(type(exc), exc, exc.__traceback__))
        apply_failure(outcome, error_result(exc))
    else:
        apply_success(outcome, result)
    return outcome
