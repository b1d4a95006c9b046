"""Poison tasks: a claimed document this worker cannot read, or one whose own fields the server
cannot take back. Run (or claimed) again, either would only meet the same failure, claim after
claim, so each is ended once, as ``error``, with what cannot be written dropped and named.

- :func:`end_unreadable`: a claim answer this client cannot read is written back raw as
  ``error`` (``TaskNotReadable``); fields the server then refuses are dropped.
- :func:`unsendable_fields` and :func:`ended_unstorable`: a task whose fields break the JSON
  rules every server stores by (an integer beyond 64 bits, nesting deeper than the write limit)
  is ended as ``error`` (``TaskNotStorable``) with those fields written as their defaults.

The fields that identify and describe the task and its outcome are never dropped.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from eventix_cli.core.errors import (
    ApiError,
    InvalidResponse,
    TransportError,
    UnreadableTask,
    UnsendableValue,
    ValidationFailed,
)
from eventix_cli.core.jsonrules import MAX_JSON_DEPTH, encode_json, unstorable_reason
from eventix_cli.core.outcome import TASK_NOT_STORABLE, apply_error, describe, task_not_storable
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Task

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient

log = logging.getLogger(__name__)

#: errors raised while a document is encoded for the wire (arbitrary objects, non-UTF-8 bytes,
#: nesting deeper than the encoder goes, values no server stores: integers beyond 64 bits, NaN)
ENCODING_ERRORS = (ValueError, TypeError, RecursionError, OverflowError, UnsendableValue)
#: fields an ending keeps whatever they hold: what the task is, and what is written about it
KEPT_FIELDS = frozenset({"uid", "_id", "revision", "status", "result", "worker_id", "worker_expires", "task"})
UNREADABLE_TASK = "TaskNotReadable"


# -- a task the server cannot take back ---------------------------------------------------------


def unsendable_fields(task: Task) -> list[str]:
    """The fields of ``task`` (besides :data:`KEPT_FIELDS`) no server takes back, sorted."""
    return sorted(
        name for name, value in task.to_wire().items() if name not in KEPT_FIELDS and not _sendable(value)
    )


def _sendable(value: Any) -> bool:
    try:
        encode_json(value)
    except ENCODING_ERRORS:
        return False
    # a field sits one level below the document, which counts as the first
    return unstorable_reason(value, MAX_JSON_DEPTH - 1) is None


def ended_unstorable(task: Task, dropped: list[str], reason: str) -> tuple[Task, dict[str, Any]]:
    """``task`` ended as ``error`` because ``dropped`` cannot be stored, and the values those
    fields are written back as (their defaults; ``null`` for fields the model does not know)."""
    log.error(
        "task %s cannot be stored back (%s): ended as error (%s) without its fields %s",
        task.uid,
        reason,
        TASK_NOT_STORABLE,
        ", ".join(dropped),
    )
    ended = task.model_copy()
    apply_error(ended, task_not_storable(task.uid, dropped, reason[:300]))
    fields = Task.model_fields
    defaults = {
        name: fields[name].get_default(call_default_factory=True) if name in fields else None
        for name in dropped
    }
    return ended, defaults


def end_unstorable(client: EventixClient, task: Task, reason: str) -> bool:
    """End ``task`` (as last read, so the write is revision-checked) when its own fields are
    what the server cannot take back; True when it was such a task and is ended."""
    dropped = unsendable_fields(task)
    if not dropped:
        return False
    ended, defaults = ended_unstorable(task, dropped, reason)
    try:
        client.put_task(ended.model_copy(update=defaults).to_wire())
    except (TransportError, ApiError, *ENCODING_ERRORS) as exc:
        log.error("task %s could not be ended: %s; its lease will expire", task.uid, describe(exc))
        return False
    return True


# -- a claim this worker cannot read ------------------------------------------------------------


def end_unreadable(client: EventixClient, worker_id: str, exc: UnreadableTask) -> bool:
    """A claimed document this worker cannot read: end it as ``error`` (no retry would read
    it better), raw and revision-checked; when even its uid is unknown, log and go on.
    True when the task was ended."""
    try:
        doc = json.loads(exc.content)
    except ValueError:
        doc = None
    uid = (doc.get("uid") or doc.get("_id")) if isinstance(doc, dict) else None
    if not isinstance(uid, str) or not isinstance(doc, dict):
        log.error("the server's claim answer is not a task document (%s); skipped", exc.message[:300])
        return False
    doc.update(
        status=TaskStatus.error.value,
        worker_id=None,
        worker_expires=None,
        result={
            "error_class": UNREADABLE_TASK,
            "error_message": f"worker {worker_id} cannot read this task: {exc.message[:500]}",
            "error_status_code": 500,
            "error_traceback": [],
            "error_payload": {},
        },
    )
    doc["uid"] = uid  # put_task writes to the document's uid; one known by its _id gets it
    try:
        try:
            _write_unreadable(client, doc)
        except ValidationFailed as refused:
            # the server stores it but will not take it back as it is: the fields it names
            # are dropped (their defaults apply) and listed with the error
            dropped = sorted({str(e["loc"][1]) for e in refused.errors if _body_field(e)} - KEPT_FIELDS)
            if not dropped:
                raise
            values = json.dumps({name: doc.pop(name, None) for name in dropped}, default=repr)[:300]
            doc["result"]["error_message"] += f"; dropped fields the server refused: {values}"
            doc["result"]["error_payload"] = {"dropped_fields": dropped}
            _write_unreadable(client, doc)
    except (TransportError, ApiError) as failure:
        log.error("task %s cannot be read and not be ended: %s; its lease will expire", uid, failure.message)
        return False
    except ENCODING_ERRORS as failure:
        log.error(
            "task %s cannot be read and not be ended: %s; its lease will expire", uid, describe(failure)
        )
        return False
    log.error("task %s cannot be read by this worker; ended as error (%s)", uid, UNREADABLE_TASK)
    return True


def _write_unreadable(client: EventixClient, doc: dict[str, object]) -> None:
    """Write an unreadable task back (revision-checked): the server's answer holds the same
    document, which this worker cannot read either, so a 2xx answer is all that counts."""
    with contextlib.suppress(InvalidResponse):
        client.put_task(doc)


def _body_field(error: object) -> bool:
    loc = error.get("loc") if isinstance(error, dict) else None
    return isinstance(loc, list | tuple) and len(loc) >= 2 and loc[0] == "body"
