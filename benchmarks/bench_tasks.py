"""Task functions for benchmarks/worker.py, declared with upstream's decorator."""

import time

from eventix.functions.core import task


@task()
def noop() -> None:
    return None


@task()
def sleep10() -> None:
    time.sleep(0.01)
