"""Pydantic v2 wire models of the Eventix API: the task document, its status and result pages.

Unknown fields a newer server sends are kept (``extra="allow"``) and written back unchanged,
so reading a task and putting it back never loses data.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from eventix_cli.core.fields import NOW, REQUIRED, TASK_FIELDS
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.times import as_utc, utcnow


def _as_utc_or_none(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else as_utc(value)


UtcDatetime = Annotated[dt.datetime, AfterValidator(as_utc)]
OptionalUtcDatetime = Annotated[dt.datetime | None, AfterValidator(_as_utc_or_none)]


def _default(name: str) -> Any:
    """The model's default of task field ``name``, as the field table gives it."""
    field = TASK_FIELDS[name]
    if field.factory is not None:
        return Field(default_factory=field.factory)
    if field.default is NOW:
        return Field(default_factory=utcnow)
    if field.default is REQUIRED:
        return Field()
    return field.default


class TaskError(BaseModel):
    """The error object a worker stores in ``result`` when a task fails."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    error_class: str
    error_message: str = ""
    error_status_code: int = 500
    error_traceback: list[str] | str = Field(default_factory=list)
    error_payload: Any = Field(default_factory=dict)

    @property
    def traceback_text(self) -> str:
        tb = self.error_traceback
        return "".join(tb) if isinstance(tb, list) else tb


class Task(BaseModel):
    """An Eventix task document (``TEventixTask``)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    # the types of the fields; their order, kinds and defaults are the field table's
    uid: str = _default("uid")
    revision: str | None = _default("revision")
    version: int = _default("version")
    created_time: UtcDatetime = _default("created_time")
    updated_time: UtcDatetime = _default("updated_time")
    unique_key: str | None = _default("unique_key")
    eta: OptionalUtcDatetime = _default("eta")
    scheduled: OptionalUtcDatetime = _default("scheduled")
    status: TaskStatus = _default("status")
    priority: int = _default("priority")
    namespace: str = _default("namespace")
    task: str = _default("task")
    args: list[Any] = _default("args")
    kwargs: dict[str, Any] = _default("kwargs")
    worker_id: str | None = _default("worker_id")
    worker_expires: OptionalUtcDatetime = _default("worker_expires")
    retry: bool = _default("retry")
    max_retries: int | None = _default("max_retries")
    error_eta_inc: int = _default("error_eta_inc")
    error_eta_max: int = _default("error_eta_max")
    store_result: bool = _default("store_result")
    result: Any = _default("result")
    error_expires: int | None = _default("error_expires")
    result_expires: int | None = _default("result_expires")
    expires: OptionalUtcDatetime = _default("expires")
    operator: str | None = _default("operator")

    @property
    def logical_priority(self) -> int:
        """The priority as users think of it (higher runs first); see :func:`~.fields.stored_priority`."""
        return -self.priority

    @property
    def error(self) -> TaskError | None:
        """The error object of a failed task, when ``result`` holds one."""
        if isinstance(self.result, dict) and isinstance(self.result.get("error_class"), str):
            return TaskError.model_validate(self.result)
        return None

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready document, unknown fields included."""
        return self.model_dump(mode="json")


class Page(BaseModel):
    """A page of tasks as ``/tasks/by_status``, ``/tasks/by_task`` and ``/tasks/dump`` return it."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    data: dict[str, Task] = Field(default_factory=dict)
    ids: list[str] = Field(default_factory=list)
    skip: int | None = None
    limit: int | None = None
    max_results: int = 0
    sort: str | None = None
    view: Any = None

    @property
    def tasks(self) -> list[Task]:
        """The tasks in the server's order (``ids``)."""
        return [self.data[uid] for uid in self.ids if uid in self.data]


#: the header of a ``POST /event`` answer in which the embedded server names the triggers
#: that failed: a JSON list of ``{"trigger", "reason"}`` (upstream's server only logs them)
FAILED_TRIGGERS_HEADER = "X-Eventix-Failed-Triggers"


class Event(BaseModel):
    """An event posted to ``POST /event``; triggers on the server may create tasks from it."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    name: str
    namespace: str = "default"
    timestamp: UtcDatetime = Field(default_factory=utcnow)
    priority: int = 0
    payload: dict[str, Any] = Field(default_factory=dict)
    operator: str = "eventix-cli"
