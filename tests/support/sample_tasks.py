"""Task functions the worker tests run: upstream-decorated ones and plain functions."""

from __future__ import annotations

import os
import time
from pathlib import Path

from eventix.functions.core import task

from eventix_cli.worker.context import current_namespace, current_task, current_worker_id


@task()
def add(a: int, b: int) -> int:
    return a + b


@task(max_retries=2, error_eta_inc=30, error_eta_max=100)
def flaky(message: str) -> None:
    raise ValueError(message)


@task(retry=False)
def fails_once_for_good() -> None:
    raise RuntimeError("no retry for me")


@task()
def spawn_child(value: int) -> str:
    """Schedules a child task with .delay() from inside a task."""
    child = add.delay(value, 1)
    return child.uid


@task()
def sleep_for(seconds: float, marker: str | None = None) -> float:
    if marker:
        Path(marker).write_text("started")
    time.sleep(seconds)
    return seconds


@task(store_result=False)
def no_store() -> int:
    return 7


def plain_where() -> dict:
    """A plain function: reports the context variables the worker sets."""
    task_doc = current_task.get()
    return {
        "namespace": current_namespace.get(),
        "worker_id": current_worker_id.get(),
        "uid": task_doc.uid if task_doc else None,
        "pid": os.getpid(),
    }


def plain_noop() -> None:
    return None


def plain_sleep(seconds: float) -> None:
    time.sleep(seconds)


def plain_record(path: str) -> None:
    """Appends the running task's uid to ``path``: how often each task really ran."""
    task_doc = current_task.get()
    with open(path, "a") as handle:
        handle.write(f"{task_doc.uid if task_doc else '?'}\n")
