"""The fields of a task document: names, kinds and defaults, in the model's order.

The one table the pydantic model (:class:`~eventix_cli.core.task.Task`), the fast read path
(:mod:`.view`), new documents built without pydantic (:func:`new_task_document`), the server's
datetime columns and the named groups of fields below all read. No pydantic here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eventix_cli.core.errors import UsageError
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.times import format_wire_time, utcnow


class Kind(IntEnum):
    """A field's type, as the model reads it and as its canonical JSON form holds it."""

    STR = 0
    OPT_STR = 1
    INT = 2
    OPT_INT = 3
    BOOL = 4
    TIME = 5  # aware UTC; on the wire ISO 8601 with ``Z`` (see :func:`~.times.format_wire_time`)
    OPT_TIME = 6
    LIST = 7
    DICT = 8
    ANY = 9
    STATUS = 10  # a :class:`~.statuses.TaskStatus`; on the wire its value


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: the default of a field that has none (the caller must give it)
REQUIRED: Any = _Marker("REQUIRED")
#: the default of a time field that starts as the moment the task is made
NOW: Any = _Marker("NOW")


def new_uid() -> str:
    """A new task id: 32 hex digits."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class TaskField:
    """One field: its kind and its default (a value, :data:`NOW` or :data:`REQUIRED`), or the
    factory that makes a fresh default (a list, a dict, a uid)."""

    kind: Kind
    default: Any = None
    factory: Callable[[], Any] | None = None


#: the fields of a task document, in the model's order
TASK_FIELDS: dict[str, TaskField] = {
    "uid": TaskField(Kind.STR, factory=new_uid),
    "revision": TaskField(Kind.OPT_STR),
    "version": TaskField(Kind.INT, 1),
    "created_time": TaskField(Kind.TIME, NOW),
    "updated_time": TaskField(Kind.TIME, NOW),
    "unique_key": TaskField(Kind.OPT_STR),
    "eta": TaskField(Kind.OPT_TIME, NOW),
    "scheduled": TaskField(Kind.OPT_TIME, NOW),
    "status": TaskField(Kind.STATUS, TaskStatus.scheduled),
    "priority": TaskField(Kind.INT, 0),
    "namespace": TaskField(Kind.STR, "default"),
    "task": TaskField(Kind.STR, REQUIRED),
    "args": TaskField(Kind.LIST, factory=list),
    "kwargs": TaskField(Kind.DICT, factory=dict),
    "worker_id": TaskField(Kind.OPT_STR),
    "worker_expires": TaskField(Kind.OPT_TIME),
    "retry": TaskField(Kind.BOOL, True),
    "max_retries": TaskField(Kind.OPT_INT),
    "error_eta_inc": TaskField(Kind.INT, 15),
    "error_eta_max": TaskField(Kind.INT, 300),
    "store_result": TaskField(Kind.BOOL, True),
    "result": TaskField(Kind.ANY),
    "error_expires": TaskField(Kind.OPT_INT),
    "result_expires": TaskField(Kind.OPT_INT, 604800),
    "expires": TaskField(Kind.OPT_TIME),
    "operator": TaskField(Kind.OPT_STR, "unknown"),
}

#: the time fields, in the table's order
TIME_FIELDS: tuple[str, ...] = tuple(
    name for name, field in TASK_FIELDS.items() if field.kind in (Kind.TIME, Kind.OPT_TIME)
)

#: the fields an outcome (done, retry, error, release, cancel; see :mod:`.outcome`) changes
OUTCOME_FIELDS: tuple[str, ...] = (
    "status",
    "result",
    "expires",
    "eta",
    "error_eta_inc",
    "max_retries",
    "worker_id",
    "worker_expires",
)

#: the fields a line of ``task add --from`` may set, in the order its error message names them
LINE_FIELDS: tuple[str, ...] = (
    "task",
    "args",
    "kwargs",
    "eta",
    "priority",
    "unique_key",
    "namespace",
    "retry",
    "max_retries",
)


#: the logical priorities whose stored (negated) value fits a 64-bit integer
LOGICAL_PRIORITY_MIN = -(2**63 - 1)
LOGICAL_PRIORITY_MAX = 2**63


def check_logical_priority(logical: int, what: str = "--priority") -> int:
    """``logical`` when its stored value fits 64 bits; a UsageError naming the value as typed
    (not the negated one the server would have been sent) otherwise."""
    if not LOGICAL_PRIORITY_MIN <= logical <= LOGICAL_PRIORITY_MAX:
        raise UsageError(
            f"{what} {logical}: integers must fit in 64 bits, and a priority is stored negated: "
            f"give one within {LOGICAL_PRIORITY_MIN} to {LOGICAL_PRIORITY_MAX}"
        )
    return logical


def stored_priority(logical: int) -> int:
    """The value stored in ``priority`` for a logical priority (higher runs first).

    The server sorts ascending, so a logical priority P is stored as -P. This and
    ``logical_priority`` (of :class:`~eventix_cli.core.task.Task` and
    :class:`~eventix_cli.core.view.TaskView`) are the only places that know it.
    """
    return -logical


def _document_default(field: TaskField, now_text: str) -> Any:
    if field.factory is not None:
        return field.factory()
    if field.default is NOW:
        return now_text
    if field.default is REQUIRED:
        return None
    if field.kind is Kind.STATUS:
        return field.default.value
    return field.default


def new_task_document(fields: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """The document ``Task(**fields).to_wire()`` gives, built without pydantic.

    ``fields`` hold values of the model's types already (as ``task add`` builds them); the
    defaults are the table's, its time defaults ``now``.
    """
    now_text = format_wire_time(now or utcnow())
    doc = {name: _document_default(field, now_text) for name, field in TASK_FIELDS.items()}
    for name, value in fields.items():
        if name in TIME_FIELDS and isinstance(value, dt.datetime):
            value = format_wire_time(value)
        doc[name] = value
    return doc
