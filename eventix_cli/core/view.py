"""Tasks read without pydantic: a read-only view of a task document already in canonical form.

``task list`` and ``task show`` only read what the server sent and print it; building the
pydantic model costs ~40 ms of their start-up (importing pydantic and building the models).
:func:`view_of` wraps a document whose every field already has the type and form the
:class:`~eventix_cli.core.task.Task` model would give it (what an Eventix server sends) in a
:class:`TaskView`, with the same read API (``uid``, ``status``, ``eta``, ``error``,
``logical_priority``, ``to_wire()``, ...); anything else (a missing field, a number as a string, a
time in another form) goes through the model, so a view never reads differently from it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from eventix_cli.core.fields import TASK_FIELDS, TIME_FIELDS, Kind
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.times import parse_wire_time

if TYPE_CHECKING:
    from eventix_cli.core.task import Task

_KINDS = tuple((name, field.kind) for name, field in TASK_FIELDS.items())
_STATUSES = {status.value: status for status in TaskStatus}


def _canonical(kind: Kind, value: Any) -> bool:
    if kind == Kind.STR:
        return type(value) is str
    if kind == Kind.OPT_STR:
        return value is None or type(value) is str
    if kind == Kind.INT:
        return type(value) is int
    if kind == Kind.OPT_INT:
        return value is None or type(value) is int
    if kind == Kind.BOOL:
        return type(value) is bool
    if kind == Kind.LIST:
        return type(value) is list
    if kind == Kind.DICT:
        return type(value) is dict and all(type(k) is str for k in value)
    if kind == Kind.STATUS:
        return type(value) is str and value in _STATUSES
    if kind == Kind.OPT_TIME and value is None:
        return True
    if kind in (Kind.TIME, Kind.OPT_TIME):
        return type(value) is str and parse_wire_time(value) is not None
    return True  # Kind.ANY


class TaskView:
    """A task as the client returns it, read like :class:`~eventix_cli.core.task.Task`.

    A view reads either a document in canonical form (no pydantic) or a task read through the
    model (:meth:`of_model`); :meth:`to_task` gives the model, to edit and write back.
    """

    __slots__ = ("_doc", "_task", "_times")

    def __init__(self, doc: dict[str, Any]) -> None:
        self._doc: dict[str, Any] | None = doc
        self._task: Task | None = None
        self._times: dict[str, dt.datetime | None] = {}

    @classmethod
    def of_model(cls, task: Task) -> TaskView:
        """A view of a task read through the model: it reads the model, and :meth:`to_task`
        hands over that model itself."""
        view = cls({})
        view._doc, view._task = None, task
        return view

    def to_task(self) -> Task:
        """The task as the pydantic model, to edit and write back (``to_task().to_wire()``).

        A view of a document builds a new model on each call; a view made :meth:`of_model`
        hands over its model (edit that, not the view).
        """
        if self._doc is None:
            return self._task  # type: ignore[return-value]
        # deferred: `task list/show/add` read views without loading pydantic (~40 ms),
        # as tests/test_startup.py checks
        from eventix_cli.core.task import Task

        return Task.model_validate(self._doc)

    def __getattr__(self, name: str) -> Any:
        if self._doc is None:
            return getattr(self._task, name)
        if name in TASK_FIELDS:
            if name in TIME_FIELDS:
                return self._time(name)
            if name == "status":
                return _STATUSES[self._doc["status"]]
            return self._doc[name]
        try:
            return self._doc[name]  # an unknown field the server sent, as the model keeps it
        except KeyError:
            raise AttributeError(name) from None

    def _time(self, name: str) -> dt.datetime | None:
        if name not in self._times:
            text = self._doc[name]  # type: ignore[index]
            self._times[name] = None if text is None else parse_wire_time(text)
        return self._times[name]

    @property
    def logical_priority(self) -> int:
        """The priority as users think of it (higher runs first)."""
        if self._doc is None:
            return self._task.logical_priority  # type: ignore[union-attr]
        return -self._doc["priority"]  # see fields.stored_priority

    @property
    def error(self) -> Any:
        """The error object of a failed task, when ``result`` holds one."""
        if self._doc is None:
            return self._task.error  # type: ignore[union-attr]
        return _ErrorView.of(self._doc["result"])

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready document, unknown fields included (a copy)."""
        if self._doc is None:
            return self._task.to_wire()  # type: ignore[union-attr]
        return dict(self._doc)


def _is_error_object(result: Any) -> bool:
    return isinstance(result, dict) and isinstance(result.get("error_class"), str)


class _ErrorView:
    """The error object in ``result``, when its fields have the model's types already."""

    __slots__ = (
        "error_class",
        "error_message",
        "error_payload",
        "error_status_code",
        "error_traceback",
        "traceback_text",
    )

    def __init__(self, result: dict[str, Any], traceback_text: str) -> None:
        self.error_class: str = result["error_class"]
        self.error_message: str = result.get("error_message", "")
        self.error_status_code: int = result.get("error_status_code", 500)
        self.error_traceback: list[str] | str = result.get("error_traceback", [])
        self.error_payload: Any = result.get("error_payload", {})
        self.traceback_text = traceback_text

    @classmethod
    def of(cls, result: Any) -> _ErrorView | None:
        """The view of ``result`` when it is an error object in the model's types, else None."""
        if not _is_error_object(result):
            return None
        message = result.get("error_message", "")
        tb = result.get("error_traceback", [])
        if type(message) is not str or type(result.get("error_status_code", 500)) is not int:
            return None
        if type(tb) is list and all(type(line) is str for line in tb):
            text = "".join(tb)
        elif type(tb) is str:
            text = tb
        else:
            return None
        return cls(result, text)


def view_of(doc: Any) -> TaskView | None:
    """A view of ``doc`` when it is in canonical form, else None (read it with the model)."""
    if type(doc) is not dict or len(doc) < len(TASK_FIELDS):
        return None
    ordered: dict[str, Any] = {}
    for name, kind in _KINDS:
        if name not in doc or not _canonical(kind, doc[name]):
            return None
        ordered[name] = doc[name]
    if not all(type(key) is str for key in doc):
        return None
    if _is_error_object(doc["result"]) and _ErrorView.of(doc["result"]) is None:
        return None  # an error object only the model reads (as TaskError)
    ordered.update(doc)  # the unknown fields after the known ones, as the model dumps them
    return TaskView(ordered)
