"""Run the triggers of an event, with upstream's semantics (``EventManager.post_event``).

For each trigger registered for the event's name, in load order: run its code; a
``self.ignore()`` skips it; any exception is logged and skips it. The returned task gets the
event's namespace when its own is ``None`` or ``"default"``, and the event's priority and
operator, then is posted (unique keys as ``POST /task``). The caller decides what posting
means: the embedded server writes to its store, ``eventix trigger test`` only shows the task.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from eventix_cli.triggers.loader import Trigger, TriggerSet
from eventix_cli.triggers.sandbox import TEventixEvent, TEventixTask, TriggerIgnored, sandbox_globals

log = logging.getLogger(__name__)

OutcomeKind = Literal["created", "ignored", "failed"]


class TriggerFailed(Exception):
    """A trigger's code ran but did not give a task."""


@dataclass(slots=True)
class Outcome:
    """What one trigger did with one event."""

    trigger: str
    file: str
    result: OutcomeKind
    task: Any = None  # what ``post`` returned for a created task
    reason: str | None = None


def make_event(doc: Mapping[str, Any]) -> TEventixEvent:
    """The event object trigger code sees, from a posted event document."""
    data = dict(doc)
    data.setdefault("name", "TEventixEvent")
    return TEventixEvent.model_validate(data)


def execute(trigger: Trigger, event: TEventixEvent) -> TEventixTask:
    """Run the trigger's code as upstream's ``execute_code`` does; raises what the code raises."""
    scope: dict[str, Any] = {"self": trigger.model, "event": event, "code": trigger.model.code}
    exec(trigger.compiled, sandbox_globals(), scope)
    task = scope.get("task")
    if task is None:
        raise TriggerFailed("No task returned from execute function in trigger.")
    if not isinstance(task, TEventixTask):
        raise TriggerFailed(f"execute returned {type(task).__name__}, not TEventixTask")
    return task


def task_for_event(trigger: Trigger, event: TEventixEvent) -> dict[str, Any]:
    """The task document the trigger makes for ``event``, with upstream's overrides applied."""
    task = execute(trigger, event)
    if task.namespace is None or task.namespace == "default":
        task.namespace = event.namespace
    task.priority = event.priority
    task.operator = event.operator
    return task.to_wire()


def _code_line(exc: BaseException) -> str:
    """`` (line N)`` of the trigger's code where ``exc`` was raised, when it was raised there."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<trigger ")]
    return f" (line {frames[-1].lineno})" if frames else ""


def _describe(exc: BaseException) -> str:
    """``Class: message``, even when the exception's ``__str__`` itself raises."""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - trigger code controls __str__
        message = "<the exception's message could not be read>"
    return f"{type(exc).__name__}: {message}"


def run_event(
    triggers: TriggerSet,
    event: TEventixEvent,
    post: Callable[[dict[str, Any]], Any],
    *,
    interrupts: tuple[type[BaseException], ...] = (KeyboardInterrupt,),
    started: Callable[[Trigger], None] | None = None,
) -> list[Outcome]:
    """Every trigger of ``event.name`` applied to ``event``; ``post`` stores a created task.

    Whatever a trigger raises is that trigger's failure, ``SystemExit`` and any other
    ``BaseException`` included, except ``interrupts``: on a terminal (``eventix trigger test``)
    a ``KeyboardInterrupt`` is the user's Ctrl-C; the server passes none, since its signals
    never arrive inside a request. ``started`` is told of each trigger before it runs."""
    outcomes: list[Outcome] = []
    log.info("[%s] event posted", event.name)
    for trigger in triggers.for_event(str(event.name)):
        if started is not None:
            started(trigger)
        try:
            doc = task_for_event(trigger, event)
            stored = post(doc)
        except TriggerIgnored:
            log.info("[%s][%s] trigger ignored", event.name, trigger.name)
            outcomes.append(Outcome(trigger.name, trigger.file, "ignored", reason="self.ignore()"))
        except interrupts:
            raise
        except BaseException as exc:
            reason = f"{_describe(exc)}{_code_line(exc)}"
            log.error("[%s][%s] trigger failed: %s", event.name, trigger.name, reason, exc_info=exc)
            outcomes.append(Outcome(trigger.name, trigger.file, "failed", reason=reason))
        else:
            uid = stored.get("uid") if isinstance(stored, Mapping) else None
            log.info("[%s][%s] trigger executed; task %s scheduled", event.name, trigger.name, uid)
            outcomes.append(Outcome(trigger.name, trigger.file, "created", task=stored))
    return outcomes
