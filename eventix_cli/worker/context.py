"""Context variables a running task can read, and upstream's context providers when present.

``current_namespace``, ``current_worker_id`` and ``current_task`` are set around every task a
worker runs. When the ``eventix`` package is importable, the task also runs inside its
providers (namespace, worker id, task, priority), so upstream tasks that call ``.delay()``
schedule into the same namespace with the same priority.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib.util
import logging
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from eventix_cli.core.task import Task

log = logging.getLogger(__name__)

current_namespace: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "eventix_namespace", default=None
)
current_worker_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "eventix_worker_id", default=None
)
current_task: contextvars.ContextVar[Task | None] = contextvars.ContextVar("eventix_task", default=None)


#: upstream's client module: its ``EventixClient`` is what ``.delay()`` posts through
UPSTREAM_CLIENT = "eventix.functions.eventix_client"


def point_upstream_client_at(url: str, token: str | None = None) -> bool:
    """Make upstream's EventixClient (used by ``.delay()``) talk to ``url``. False without eventix.

    When the task modules have loaded it, now; otherwise as soon as something imports it (a
    task that imports upstream code only when it runs), through a finder on ``sys.meta_path``
    (the import system's public hook). Upstream's client takes its URL only from
    ``set_base_url`` (no environment variable; it starts as ``nohost://``), so it has to be
    loaded to be pointed. Importing it here, or before a worker's first task, instead would
    cost a worker of plain functions, whenever upstream's package is installed, ~400 ms of CPU
    (``eventix.functions.eventix_client``: lsrestclient, requests, ...; 388-426 ms in three
    runs, on top of the ~220 ms of ``eventix.contexts`` its first task imports anyway)."""
    module = sys.modules.get(UPSTREAM_CLIENT)
    if module is not None:
        _point(module, url, token)
        return True
    if importlib.util.find_spec("eventix") is None:
        return False
    sys.meta_path.insert(0, _PointOnImport(lambda loaded: _point(loaded, url, token)))
    return True


def _point(module: ModuleType, url: str, token: str | None) -> None:
    client = module.EventixClient
    client.set_base_url(url)
    interface = getattr(client, "interface", None)
    if token and interface is not None and hasattr(interface, "headers"):
        interface.headers["Authorization"] = f"Bearer {token}"


class _PointOnImport:
    """Finds nothing itself: when upstream's client module is imported, it lets the other
    finders find it, and runs ``then`` on the module once the module's code has run. One use;
    it stays in ``sys.meta_path`` (inert) so that no other thread's import walks a list that
    changes under it."""

    def __init__(self, then: Callable[[ModuleType], None]) -> None:
        self.then = then
        self.used = False

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if self.used or name != UPSTREAM_CLIENT:
            return None
        self.used = True
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None and finder is not self else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _ThenLoader(spec.loader, self.then)
                return spec
        return None


class _ThenLoader:
    """``loader``, plus ``then(module)`` after the module's code has run."""

    def __init__(self, loader: Any, then: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._then = then

    def __getattr__(self, name: str) -> Any:  # get_source, get_code, ... of the real loader
        return getattr(self._loader, name)

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._then(module)


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


class _Upstream(NamedTuple):
    """What a task's run needs of upstream's package: its context providers and task model."""

    namespace_provider: Callable[[str], Any]
    worker_id_provider: Callable[[str], Any]
    task_provider: Callable[[Any], Any]
    task_priority_provider: Callable[[int], Any]
    task_model: Any


@functools.cache
def _upstream() -> _Upstream | None:
    """Upstream's providers, None without upstream's package. Imported when the first task
    runs, not at start-up (~220 ms of CPU a worker that runs no task never pays), and looked
    for once: a failed import costs ~58 µs, which every task would pay otherwise."""
    try:  # deferred on purpose, see above
        from eventix.contexts import (
            namespace_provider,
            task_priority_provider,
            task_provider,
            worker_id_provider,
        )
        from eventix.pydantic.task import TEventixTask
    except ImportError:
        return None
    return _Upstream(
        namespace_provider, worker_id_provider, task_provider, task_priority_provider, TEventixTask
    )


@contextlib.contextmanager
def _upstream_providers(task: Task, namespace: str, worker_id: str) -> Iterator[None]:
    upstream = _upstream()
    if upstream is None:
        yield
        return
    upstream_task: Any = upstream.task_model.model_validate(task.model_dump())
    # The priority provider takes the *logical* priority: `.delay()` negates what it finds, so a
    # task scheduled from inside a task gets the same stored priority as its parent.
    with (
        upstream.namespace_provider(namespace),
        upstream.worker_id_provider(worker_id),
        upstream.task_provider(upstream_task),
        upstream.task_priority_provider(task.logical_priority),
    ):
        yield
