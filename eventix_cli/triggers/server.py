"""The embedded server's side of triggers: ``POST /event`` answered from a :class:`TriggerSet`."""

from __future__ import annotations

import json
import logging
from typing import Any

from eventix_cli.triggers.loader import TriggerSet
from eventix_cli.triggers.runner import make_event, run_event

log = logging.getLogger(__name__)


def answer_event(triggers: TriggerSet | None, store: Any, event: dict[str, Any]) -> str:
    """The JSON body of ``POST /event``: the tasks the triggers created, as stored."""
    if triggers is None:
        log.info(
            "event %s posted to namespace %s (no triggers on this server)",
            event.get("name"),
            event.get("namespace"),
        )
        return "[]"
    outcomes = run_event(triggers, make_event(event), store.post, interrupts=())
    texts = [
        o.task.text if hasattr(o.task, "text") else json.dumps(o.task)
        for o in outcomes
        if o.result == "created"
    ]
    return "[" + ",".join(texts) + "]"
