"""Sample tasks for `eventix tour` and for trying a worker: plain functions, no eventix needed.

eventix worker --tasks eventix_cli.examples.tasks:greet --tasks eventix_cli.examples.tasks:add
"""

from __future__ import annotations

import logging
import time

from eventix_cli.worker.context import current_task

log = logging.getLogger(__name__)


def greet(name: str = "world") -> str:
    return f"hello, {name}"


def add(a: float, b: float) -> float:
    return a + b


def unreliable() -> str:
    """Fails on its first run and succeeds on the retry: shows retries with backoff."""
    task = current_task.get()
    if task is not None and task.result is None:  # no earlier error recorded: first attempt
        raise ConnectionError("the flaky upstream service did not answer (first attempt)")
    return "worked on the retry"


def slow(seconds: float = 1.0) -> float:
    time.sleep(seconds)
    return seconds
