"""Pydantic v2 wire models of the Eventix API: the task document, its status and result pages.

Unknown fields a newer server sends are kept (``extra="allow"``) and written back unchanged,
so reading a task and putting it back never loses data.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# re-exported: statuses live apart so that status filters need no pydantic
from eventix_cli.core.statuses import FINAL_STATUSES as FINAL_STATUSES
from eventix_cli.core.statuses import PENDING_STATUSES as PENDING_STATUSES
from eventix_cli.core.statuses import TaskStatus

# re-exported: lives apart so that `task add` needs no pydantic
from eventix_cli.core.view import stored_priority as stored_priority


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """Normalise a datetime to aware UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _as_utc_or_none(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else as_utc(value)


UtcDatetime = Annotated[dt.datetime, AfterValidator(as_utc)]
OptionalUtcDatetime = Annotated[dt.datetime | None, AfterValidator(_as_utc_or_none)]


def new_uid() -> str:
    return uuid.uuid4().hex


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

    uid: str = Field(default_factory=new_uid)
    revision: str | None = None
    version: int = 1
    created_time: UtcDatetime = Field(default_factory=utcnow)
    updated_time: UtcDatetime = Field(default_factory=utcnow)
    unique_key: str | None = None
    eta: OptionalUtcDatetime = Field(default_factory=utcnow)
    scheduled: OptionalUtcDatetime = Field(default_factory=utcnow)
    status: TaskStatus = TaskStatus.scheduled
    priority: int = 0
    namespace: str = "default"
    task: str
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    worker_id: str | None = None
    worker_expires: OptionalUtcDatetime = None
    retry: bool = True
    max_retries: int | None = None
    error_eta_inc: int = 15
    error_eta_max: int = 300
    store_result: bool = True
    result: Any = None
    error_expires: int | None = None
    result_expires: int | None = 604800
    expires: OptionalUtcDatetime = None
    operator: str | None = "unknown"

    @property
    def logical_priority(self) -> int:
        """The priority as users think of it (higher runs first); see :func:`stored_priority`."""
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


class Event(BaseModel):
    """An event posted to ``POST /event``; triggers on the server may create tasks from it."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    name: str
    namespace: str = "default"
    timestamp: UtcDatetime = Field(default_factory=utcnow)
    priority: int = 0
    payload: dict[str, Any] = Field(default_factory=dict)
    operator: str = "eventix-cli"
