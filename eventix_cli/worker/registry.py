"""Which task functions a worker can run: upstream Eventix task objects and plain callables."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


class RegistrationError(Exception):
    """A ``--tasks`` spec could not be registered; the worker does not start."""


@dataclass(frozen=True, slots=True)
class RegisteredTask:
    name: str
    source: str  # "pkg.module" or "pkg.module:function"
    call: Callable[..., Any]
    upstream: bool  # an upstream Eventix task object (its .run restores argument types)

    def run(self, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return self.call(*args, **kwargs)


#: upstream's task class, as module and name: a task object is an instance of it
UPSTREAM_CORE = "eventix.functions.core"
UPSTREAM_TASK_CLASS = "EventixTaskBase"


def is_upstream_task(value: object) -> bool:
    """Whether ``value`` is an upstream Eventix task object (``eventix.functions.core.EventixTaskBase``).

    Told by its class's ancestry, by name, so that upstream's package is never imported here:
    an object can only be such an instance once its task module has loaded upstream, and
    importing upstream's package (~250 ms: requests, redis, pymongo, ...) for a worker of
    plain functions would only check that."""
    return any(
        cls.__module__ == UPSTREAM_CORE and cls.__qualname__ == UPSTREAM_TASK_CLASS
        for cls in type(value).__mro__
    )


#: the function name of a ``--tasks`` spec that registers every public function of the module
EVERY_FUNCTION = "*"


def _public_functions(module: Any) -> list[tuple[str, Any]]:
    """The functions defined in ``module`` itself (not imported into it) whose names do not
    start with an underscore, in the order they were defined."""
    return [
        (name, value)
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")
    ]


def _plain_functions_hint(module: Any, module_name: str) -> str:
    functions = [name for name, _ in _public_functions(module)]
    if not functions:
        return ""
    shown = ", ".join(functions[:5]) + (", ..." if len(functions) > 5 else "")
    return (
        f"; its plain functions ({shown}) register as {module_name}:{functions[0]}, "
        f"or all of them as {module_name}:{EVERY_FUNCTION}"
    )


def _upstream_installed() -> bool:
    return importlib.util.find_spec("eventix") is not None


def _import(module_name: str, spec: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise RegistrationError(f"--tasks {spec}: cannot import {module_name}: {exc}") from exc
    except Exception as exc:
        raise RegistrationError(
            f"--tasks {spec}: importing {module_name} failed: {type(exc).__name__}: {exc}"
        ) from exc


class TaskRegistry:
    """Task name -> what to call. Duplicate names are an error, never silently replaced."""

    def __init__(self) -> None:
        self.tasks: dict[str, RegisteredTask] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.tasks

    def __len__(self) -> int:
        return len(self.tasks)

    def get(self, name: str) -> RegisteredTask | None:
        return self.tasks.get(name)

    def add(self, entry: RegisteredTask) -> None:
        existing = self.tasks.get(entry.name)
        if existing is not None:
            raise RegistrationError(
                f"task name {entry.name!r} is registered twice: by {existing.source} and by {entry.source}"
            )
        self.tasks[entry.name] = entry

    def register(self, spec: str) -> list[RegisteredTask]:
        """``pkg.module`` (every upstream task object in it), ``pkg.module:function``, or
        ``pkg.module:*`` (every public function defined in the module, by its name)."""
        spec = spec.strip()
        if not spec:
            raise RegistrationError("--tasks needs a module, e.g. myapp.tasks or myapp.tasks:send_mail")
        module_name, sep, attr = spec.partition(":")
        if sep and not attr:
            raise RegistrationError(f"--tasks {spec}: missing function name after ':'")
        if "." not in sys.path and "" not in sys.path:
            sys.path.insert(0, "")  # tasks modules are found relative to the working directory
        module = _import(module_name, spec)
        added: list[RegisteredTask] = []
        if attr == EVERY_FUNCTION:
            for name, function in _public_functions(module):
                entry = RegisteredTask(name, spec, function, upstream=False)
                self.add(entry)
                added.append(entry)
            if not added:
                raise RegistrationError(f"--tasks {spec}: no public functions defined in {module_name}")
        elif sep:
            target = getattr(module, attr, None)
            if target is None:
                raise RegistrationError(f"--tasks {spec}: {module_name} has no attribute {attr!r}")
            if is_upstream_task(target):
                entry = RegisteredTask(target.func_name, spec, target.run, upstream=True)
            elif callable(target):
                entry = RegisteredTask(attr, spec, target, upstream=False)
            else:
                raise RegistrationError(f"--tasks {spec}: {attr!r} is not callable")
            self.add(entry)
            added.append(entry)
        else:
            for value in vars(module).values():
                if is_upstream_task(value):
                    entry = RegisteredTask(value.func_name, spec, value.run, upstream=True)
                    self.add(entry)
                    added.append(entry)
            if not added and not _upstream_installed():
                raise RegistrationError(
                    f"--tasks {spec}: registering a whole module needs the eventix package "
                    "(pip install eventix); name plain functions as module:function"
                    + _plain_functions_hint(module, module_name)
                )
            if not added:
                raise RegistrationError(
                    f"--tasks {spec}: no Eventix task objects in {module_name}"
                    + _plain_functions_hint(module, module_name)
                )
        return added

    def register_all(self, specs: Iterable[str]) -> None:
        for spec in specs:
            for entry in self.register(spec):
                kind = "eventix task" if entry.upstream else "function"
                log.info("registered %s %r from %s", kind, entry.name, entry.source)
