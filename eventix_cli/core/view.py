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

from eventix_cli.core.statuses import TaskStatus

if TYPE_CHECKING:
    from eventix_cli.core.task import Task, TaskError

_STR, _OPT_STR, _INT, _OPT_INT, _BOOL, _TIME, _OPT_TIME, _LIST, _DICT, _ANY, _STATUS = range(11)

#: the fields of :class:`~eventix_cli.core.task.Task`, in its order, with their canonical kind
TASK_FIELDS: dict[str, int] = {
    "uid": _STR,
    "revision": _OPT_STR,
    "version": _INT,
    "created_time": _TIME,
    "updated_time": _TIME,
    "unique_key": _OPT_STR,
    "eta": _OPT_TIME,
    "scheduled": _OPT_TIME,
    "status": _STATUS,
    "priority": _INT,
    "namespace": _STR,
    "task": _STR,
    "args": _LIST,
    "kwargs": _DICT,
    "worker_id": _OPT_STR,
    "worker_expires": _OPT_TIME,
    "retry": _BOOL,
    "max_retries": _OPT_INT,
    "error_eta_inc": _INT,
    "error_eta_max": _INT,
    "store_result": _BOOL,
    "result": _ANY,
    "error_expires": _OPT_INT,
    "result_expires": _OPT_INT,
    "expires": _OPT_TIME,
    "operator": _OPT_STR,
}
_TIMES = tuple(name for name, kind in TASK_FIELDS.items() if kind in (_TIME, _OPT_TIME))
_STATUSES = {status.value: status for status in TaskStatus}


def _utc_text(value: str) -> dt.datetime | None:
    """The aware UTC time of ``value`` if it is written as the model writes it, else None."""
    if not value.endswith("Z"):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.isoformat().replace("+00:00", "Z") != value:
        return None
    return parsed


def _canonical(kind: int, value: Any) -> bool:
    if kind == _STR:
        return type(value) is str
    if kind == _OPT_STR:
        return value is None or type(value) is str
    if kind == _INT:
        return type(value) is int
    if kind == _OPT_INT:
        return value is None or type(value) is int
    if kind == _BOOL:
        return type(value) is bool
    if kind == _LIST:
        return type(value) is list
    if kind == _DICT:
        return type(value) is dict and all(type(k) is str for k in value)
    if kind == _STATUS:
        return type(value) is str and value in _STATUSES
    if kind == _OPT_TIME and value is None:
        return True
    if kind in (_TIME, _OPT_TIME):
        return type(value) is str and _utc_text(value) is not None
    return True  # _ANY


def stored_priority(logical: int) -> int:
    """The value stored in ``priority`` for a logical priority (higher runs first).

    The server sorts ascending, so a logical priority P is stored as -P. This and
    ``logical_priority`` (of :class:`~eventix_cli.core.task.Task` and :class:`TaskView`) are the
    only places that know it.
    """
    return -logical


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
        # imported here: `task list/show/add` read views without loading pydantic (~40 ms),
        # as tests/test_startup.py checks
        from eventix_cli.core.task import Task

        return Task.model_validate(self._doc)

    def __getattr__(self, name: str) -> Any:
        if self._doc is None:
            return getattr(self._task, name)
        if name in TASK_FIELDS:
            if name in _TIMES:
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
            self._times[name] = None if text is None else _utc_text(text)
        return self._times[name]

    @property
    def logical_priority(self) -> int:
        """The priority as users think of it (higher runs first)."""
        if self._doc is None:
            return self._task.logical_priority  # type: ignore[union-attr]
        return -self._doc["priority"]  # see stored_priority

    @property
    def error(self) -> TaskError | _ErrorView | None:
        """The error object of a failed task, when ``result`` holds one."""
        if self._doc is None:
            return self._task.error  # type: ignore[union-attr]
        result = self._doc["result"]
        if not (isinstance(result, dict) and isinstance(result.get("error_class"), str)):
            return None
        view = _ErrorView.of(result)
        if view is not None:
            return view
        from eventix_cli.core.task import TaskError

        return TaskError.model_validate(result)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready document, unknown fields included (a copy)."""
        if self._doc is None:
            return self._task.to_wire()  # type: ignore[union-attr]
        return dict(self._doc)


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
    def of(cls, result: dict[str, Any]) -> _ErrorView | None:
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
    for name, kind in TASK_FIELDS.items():
        if name not in doc or not _canonical(kind, doc[name]):
            return None
        ordered[name] = doc[name]
    if not all(type(key) is str for key in doc):
        return None
    ordered.update(doc)  # the unknown fields after the known ones, as the model dumps them
    return TaskView(ordered)


def utc_text(value: dt.datetime) -> str:
    """A time as the model writes it: UTC, ISO 8601, ``Z`` (a naive time is taken as UTC)."""
    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value.isoformat().replace("+00:00", "Z")


_TIME_FIELDS = frozenset(_TIMES)


def new_task_document(fields: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """The document ``Task(**fields).to_wire()`` gives, built without pydantic.

    ``fields`` hold values of the model's types already (as ``task add`` builds them); the
    defaults are the model's, its time defaults ``now``.
    """
    import uuid

    now_text = utc_text(now or dt.datetime.now(dt.UTC))
    doc: dict[str, Any] = {
        "uid": uuid.uuid4().hex,
        "revision": None,
        "version": 1,
        "created_time": now_text,
        "updated_time": now_text,
        "unique_key": None,
        "eta": now_text,
        "scheduled": now_text,
        "status": TaskStatus.scheduled.value,
        "priority": 0,
        "namespace": "default",
        "task": None,
        "args": [],
        "kwargs": {},
        "worker_id": None,
        "worker_expires": None,
        "retry": True,
        "max_retries": None,
        "error_eta_inc": 15,
        "error_eta_max": 300,
        "store_result": True,
        "result": None,
        "error_expires": None,
        "result_expires": 604800,
        "expires": None,
        "operator": "unknown",
    }
    for name, value in fields.items():
        if name in _TIME_FIELDS and isinstance(value, dt.datetime):
            value = utc_text(value)
        doc[name] = value
    return doc
