"""The names trigger code sees, as upstream's ``TEventixEventTrigger.execute_code`` provides them.

Upstream runs a trigger's code with ``exec(code, <globals of eventix.pydantic.event>, locals)``:
the code's ``execute`` function looks names up in that module's globals, and the call
``execute(self, event)`` gets the trigger and the event. These models mirror upstream's
``TEventixEvent``, ``TEventixTask`` and ``TEventixEventTrigger`` field for field, so trigger
code written for upstream runs here unchanged, without the ``eventix`` package installed.
"""

from __future__ import annotations

import datetime
import inspect
import logging
import textwrap
from enum import Enum
from typing import Any, Callable, Literal  # noqa: UP035 - names trigger code may use

from pydantic import BaseModel, ConfigDict, Field

from eventix_cli.core.fields import new_uid
from eventix_cli.core.times import utcnow

log = logging.getLogger("eventix_cli.triggers")


class TriggerIgnored(Exception):
    """Raised by ``self.ignore()``: the trigger creates no task for this event."""


class BackendModel(BaseModel):
    """The stored-document base of upstream's models: identity, revision and timestamps."""

    uid: str | None = Field(default_factory=new_uid)
    revision: str | None = None
    version: int | None = 1
    created_time: datetime.datetime | None = Field(default_factory=utcnow)
    updated_time: datetime.datetime | None = Field(default_factory=utcnow)


class EventixTaskStatusEnum(str, Enum):  # noqa: UP042 - mirrors upstream's enum
    scheduled = "scheduled"
    processing = "processing"
    done = "done"
    error = "error"
    retry = "retry"


class TEventixTask(BackendModel):
    """Upstream's task model, as trigger code builds it: ``TEventixTask(task=..., kwargs=...)``."""

    model_config = ConfigDict(use_enum_values=True, validate_assignment=True)

    unique_key: str | None = None
    eta: datetime.datetime | None = Field(default_factory=utcnow)
    scheduled: datetime.datetime | None = Field(default_factory=utcnow)
    status: EventixTaskStatusEnum | None = EventixTaskStatusEnum.scheduled
    priority: int | None = 0
    namespace: str | None = "default"
    task: str
    args: tuple | None = Field(default_factory=tuple)
    kwargs: dict[str, Any] | None = Field(default_factory=dict)
    worker_id: str | None = None
    worker_expires: datetime.datetime | None = None
    retry: bool = True
    max_retries: int | None = None
    error_eta_inc: int = 15
    error_eta_max: int = 300
    store_result: bool = True
    result: Any = None
    error_expires: int | None = None
    result_expires: int | None = 604800
    expires: datetime.datetime | None = None
    operator: str | None = "unknown"

    def to_wire(self) -> dict[str, Any]:
        """The document as ``POST /task`` would store it."""
        doc = self.model_dump(mode="json")
        if doc.get("args") is None:
            doc["args"] = []
        if doc.get("kwargs") is None:
            doc["kwargs"] = {}
        if doc.get("status") is None:
            doc["status"] = "scheduled"
        return doc


class TEventPayload(BaseModel):
    pass


class TEventixEvent(BackendModel):
    """Upstream's event model, with ``payload_dict()`` and ``payload_object(Model)``."""

    model_config = ConfigDict(extra="allow")

    namespace: str | None = "default"
    timestamp: datetime.datetime | None = Field(default_factory=utcnow)
    priority: int | None = 0
    payload: dict | None = Field(default_factory=dict)
    name: str | None = None
    operator: str | None = "unknown"

    def payload_object(self, model: type[BaseModel]) -> BaseModel:
        return model(**self.payload) if isinstance(self.payload, dict) else self.payload

    def payload_dict(self) -> Any:
        p = self.payload
        return p.model_dump() if isinstance(p, BaseModel) else p


TEventixEventTriggerType = Literal["default"]


class TEventixEventTrigger(BackendModel):
    """One trigger as loaded from a file; trigger code sees it as ``self``."""

    event_name: str
    trigger_type: TEventixEventTriggerType | None = "default"
    namespace: str | None = "default"
    name: str | None = None
    code: str | None = None

    def ignore(self) -> None:
        raise TriggerIgnored(self.name)


# What upstream's exec() hands trigger code as globals: the public names of the module that
# defines TEventixEventTrigger. A fresh copy per run, so one trigger cannot leak into another.
_GLOBALS: dict[str, Any] = {
    "datetime": datetime,
    "inspect": inspect,
    "logging": logging,
    "textwrap": textwrap,
    "Any": Any,
    "Callable": Callable,
    "Literal": Literal,
    "Type": type,
    "BaseModel": BaseModel,
    "Field": Field,
    "BackendModel": BackendModel,
    "utcnow": utcnow,
    "TriggerIgnored": TriggerIgnored,
    "TEventixTask": TEventixTask,
    "TEventPayload": TEventPayload,
    "TEventixEvent": TEventixEvent,
    "TEventixEventTrigger": TEventixEventTrigger,
    "TEventixEventTriggerType": TEventixEventTriggerType,
    "log": log,
}

SANDBOX_NAMES: tuple[str, ...] = tuple(sorted(_GLOBALS))


def sandbox_globals() -> dict[str, Any]:
    """A fresh globals dict for one run of trigger code."""
    return {"__builtins__": __builtins__, "__name__": "eventix_trigger", **_GLOBALS}
