"""Triggers: turn posted events into tasks, in upstream Eventix's format and semantics.

Used by the embedded server (``POST /event``) and by ``eventix trigger check|test``. No Typer,
no rich. Trigger code is the operator's own Python, loaded on purpose, as upstream's server
loads it: it runs with the same rights as the process that loads it.
"""

from __future__ import annotations

from eventix_cli.triggers.loader import (
    ENV_TRIGGER_DIR,
    Trigger,
    TriggerProblem,
    TriggerSet,
    load_directory,
)
from eventix_cli.triggers.runner import Outcome, make_event, run_event

__all__ = [
    "ENV_TRIGGER_DIR",
    "Outcome",
    "Trigger",
    "TriggerProblem",
    "TriggerSet",
    "load_directory",
    "make_event",
    "run_event",
]
