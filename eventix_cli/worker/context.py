"""Context variables a running task can read, and upstream's context providers when present.

``current_namespace``, ``current_worker_id`` and ``current_task`` are set around every task a
worker runs. When the ``eventix`` package is importable, the task also runs inside its
providers (namespace, worker id, task, priority), so upstream tasks that call ``.delay()``
schedule into the same namespace with the same priority.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from typing import Any

from eventix_cli.models import Task

log = logging.getLogger(__name__)

current_namespace: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "eventix_namespace", default=None
)
current_worker_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "eventix_worker_id", default=None
)
current_task: contextvars.ContextVar[Task | None] = contextvars.ContextVar("eventix_task", default=None)


def upstream_available() -> bool:
    try:
        import eventix.contexts  # noqa: F401
    except ImportError:
        return False
    return True


def point_upstream_client_at(url: str, token: str | None = None) -> bool:
    """Make upstream's EventixClient (used by ``.delay()``) talk to ``url``. False without eventix."""
    try:
        from eventix.functions.eventix_client import EventixClient
    except ImportError:
        return False
    EventixClient.set_base_url(url)
    interface = getattr(EventixClient, "interface", None)
    if token and interface is not None and hasattr(interface, "headers"):
        interface.headers["Authorization"] = f"Bearer {token}"
    return True


@contextlib.contextmanager
def task_context(task: Task, namespace: str, worker_id: str) -> Iterator[None]:
    tokens = (current_namespace.set(namespace), current_worker_id.set(worker_id), current_task.set(task))
    try:
        with _upstream_providers(task, namespace, worker_id):
            yield
    finally:
        current_task.reset(tokens[2])
        current_worker_id.reset(tokens[1])
        current_namespace.reset(tokens[0])


@contextlib.contextmanager
def _upstream_providers(task: Task, namespace: str, worker_id: str) -> Iterator[None]:
    try:
        from eventix.contexts import (
            namespace_provider,
            task_priority_provider,
            task_provider,
            worker_id_provider,
        )
        from eventix.pydantic.task import TEventixTask
    except ImportError:
        yield
        return
    upstream_task: Any = TEventixTask.model_validate(task.model_dump())
    # The priority provider takes the *logical* priority: `.delay()` negates what it finds, so a
    # task scheduled from inside a task gets the same stored priority as its parent.
    with (
        namespace_provider(namespace),
        worker_id_provider(worker_id),
        task_provider(upstream_task),
        task_priority_provider(task.logical_priority),
    ):
        yield
