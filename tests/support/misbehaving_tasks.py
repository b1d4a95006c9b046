"""Task functions that misbehave in every way a task can, and ordinary ones between them.

Plain functions (registered as ``module:function``), so the same module runs against both
servers without the eventix package's argument handling in the way.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from eventix_cli.client.api import EventixClient
from eventix_cli.worker.context import current_task


class Meltdown(BaseException):
    """Neither an Exception nor a stop request: a BaseException of a task's own."""


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


def ok(n: int) -> int:
    return n * 2


def takes_anything(*args: object, **kwargs: object) -> str:
    return "ran"


def calls_sys_exit() -> None:
    sys.exit(3)


def raises_keyboard_interrupt() -> None:
    raise KeyboardInterrupt


def raises_system_exit() -> None:
    raise SystemExit("leaving")


def raises_base_exception() -> None:
    raise Meltdown("meltdown")


def raises_unprintable() -> None:
    raise Unprintable()


def returns_object() -> object:
    return object()


def returns_bad_bytes() -> bytes:
    return b"\xff\xfe\xfa"


def returns_deep() -> list:
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    return deep


def returns_huge(megabytes: int) -> str:
    return "x" * (megabytes * 1024 * 1024)


def leaves_a_thread_running() -> str:
    """A non-daemon thread that outlives the task (the interpreter would wait for it)."""
    import threading

    threading.Thread(target=time.sleep, args=(600,), name="left-behind", daemon=False).start()
    return "left"


# -- tasks that act on their own document while they run ------------------------------------


def _own(url: str):
    task = current_task.get()
    assert task is not None
    return EventixClient(url), task.uid


def touch_self_then_sleep(url: str, seconds: float, marker: str) -> str:
    """Changes its own document (the claim stays this worker's), then sleeps."""
    client, uid = _own(url)
    with client:
        doc = client.get_task(uid).to_task()
        doc.kwargs = {**doc.kwargs, "touched": True}
        client.put_task(doc.to_wire())
    Path(marker).write_text("touched")
    time.sleep(seconds)
    return "finished"


def delete_self_then_sleep(url: str, seconds: float) -> str:
    client, uid = _own(url)
    with client:
        client.delete_task(uid)
    time.sleep(seconds)
    return "finished"


def sleep_with_marker(seconds: float, marker: str) -> str:
    Path(marker).write_text(str(os.getpid()))
    time.sleep(seconds)
    return "finished"


def sleep_with_marker_taking_anything(seconds: float, marker: str, **kwargs: object) -> str:
    return sleep_with_marker(seconds, marker)


# -- tasks that sabotage the worker itself (task code can do anything) ----------------------


def kill_next_thread() -> str:
    """Makes the next attempt of whichever thread comes next raise inside the worker, once."""
    import eventix_cli.worker.lane as lane

    original = lane.run_attempt

    def broken(*args, **kwargs):
        lane.run_attempt = original
        raise RuntimeError("sabotaged worker thread")

    lane.run_attempt = broken
    return "sabotaged"


def kill_every_thread() -> str:
    import eventix_cli.worker.lane as lane

    def broken(*args, **kwargs):
        raise RuntimeError("sabotaged worker thread, for good")

    lane.run_attempt = broken
    return "sabotaged"
