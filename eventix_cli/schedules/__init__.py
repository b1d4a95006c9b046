"""Recurring schedules: parse schedules files, compute slots, enqueue due slots as tasks.

No Typer, no rich: ``eventix schedule``, ``eventix scheduler`` and ``eventix worker
--schedules`` start these, and import this package only when they read a schedules file.
"""

from __future__ import annotations

from eventix_cli.schedules.model import Schedule, ScheduleFileError, load_schedules

__all__ = ["Schedule", "ScheduleFileError", "load_schedules"]
