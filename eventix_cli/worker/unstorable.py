"""A claimed task whose own document the server cannot take back (a poison task): which of
its fields break the JSON rules every server stores by, and the task ended in their place.

Run again, such a task would only meet the same refusal, claim after claim: it is ended once,
as ``error`` (``TaskNotStorable``), with those fields written back as their defaults and named
in the error. The fields that identify and describe the task and its outcome are never dropped.
"""

from __future__ import annotations

from typing import Any

from eventix_cli.core.errors import UnsendableValue
from eventix_cli.core.jsonrules import MAX_JSON_DEPTH, encode_json, unstorable_reason
from eventix_cli.core.outcome import apply_error, task_not_storable
from eventix_cli.core.task import Task

#: fields an ending keeps whatever they hold: what the task is, and what is written about it
KEPT_FIELDS = frozenset({"uid", "_id", "revision", "status", "result", "worker_id", "worker_expires", "task"})


def unsendable_fields(task: Task) -> list[str]:
    """The fields of ``task`` (besides :data:`KEPT_FIELDS`) no server takes back, sorted."""
    return sorted(
        name for name, value in task.to_wire().items() if name not in KEPT_FIELDS and not _sendable(value)
    )


def _sendable(value: Any) -> bool:
    try:
        encode_json(value)
    except (UnsendableValue, ValueError, TypeError, RecursionError):
        return False
    # a field sits one level below the document, which counts as the first
    return unstorable_reason(value, MAX_JSON_DEPTH - 1) is None


def ended_unstorable(task: Task, dropped: list[str], reason: str) -> tuple[Task, dict[str, Any]]:
    """``task`` ended as ``error`` because ``dropped`` cannot be stored, and the values those
    fields are written back as (their defaults; ``null`` for fields the model does not know)."""
    ended = task.model_copy()
    apply_error(ended, task_not_storable(task.uid, dropped, reason[:300]))
    fields = Task.model_fields
    defaults = {
        name: fields[name].get_default(call_default_factory=True) if name in fields else None
        for name in dropped
    }
    return ended, defaults
