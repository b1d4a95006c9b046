"""Schedules files on the command line, for ``eventix schedule``, ``eventix scheduler`` and
``eventix worker --schedules``: read one or refuse it with every problem on stderr, and run
its scheduler in a thread of a worker."""

from __future__ import annotations

from pathlib import Path

from eventix_cli.cli import output
from eventix_cli.cli.state import AppState
from eventix_cli.config import Settings
from eventix_cli.core.errors import UsageError
from eventix_cli.schedules import Schedule, ScheduleFileError, load_schedules
from eventix_cli.schedules.runner import Scheduler, SchedulerThread


class ScheduleConfigError(UsageError):
    """A schedules file is broken: bad syntax, a missing or wrong field, an invalid cron or time zone."""


def load_or_refuse(path: Path) -> list[Schedule]:
    """The schedules of ``path``; every problem on stderr, then exit 2."""
    try:
        return load_schedules(path)
    except ScheduleFileError as exc:
        for problem in exc.problems[1:]:
            output.message(f"  {problem}")
        more = len(exc.problems) - 1
        raise ScheduleConfigError(
            exc.problems[0], hint=f"{more} more problem(s) listed above" if more else None
        ) from None


def start_in_worker(state: AppState, settings: Settings, file: Path | None) -> SchedulerThread | None:
    """``eventix worker --schedules FILE``: the scheduler in a thread of the worker, with its
    own client; the caller stops it when the worker ends."""
    if file is None:
        return None
    schedules = load_or_refuse(file)
    thread = SchedulerThread(Scheduler(state.client(settings, retries=0), schedules, settings.namespace))
    thread.start()
    return thread
