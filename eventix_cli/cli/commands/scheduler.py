"""``eventix scheduler FILE``: enqueue the due slots of a schedules file as tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eventix_cli.cli.options import (
    LogFormatOption,
    LogLevelOption,
    NamespaceOption,
    TimeoutOption,
    UrlOption,
    log_options,
)
from eventix_cli.cli.schedule_files import load_or_refuse
from eventix_cli.cli.stop_signals import StopSignals
from eventix_cli.config import require_writable
from eventix_cli.logging import setup_logging
from eventix_cli.schedules.runner import Scheduler

EPILOG = """\
[bold]Examples[/bold]

  [dim]# run until SIGTERM/Ctrl-C; a second one elsewhere for high availability[/dim]
  eventix scheduler schedules.toml --url http://127.0.0.1:8000

  [dim]# from a crontab line (* * * * *): enqueue what is due now, then exit[/dim]
  eventix scheduler /etc/eventix/schedules.toml --once
"""


def scheduler(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="Schedules file (see 'eventix schedule list --help').", show_default=False)
    ],
    once: Annotated[
        bool, typer.Option("--once", help="Enqueue the slots due now, then exit (for cron-driven setups).")
    ] = False,
    namespace: NamespaceOption = None,
    log_level: LogLevelOption = None,
    log_format: LogFormatOption = "text",
    url: UrlOption = None,
    timeout: TimeoutOption = None,
) -> None:
    """Enqueue each due slot of FILE's schedules as a task, until SIGTERM or Ctrl-C.

    Each slot's task has the unique key schedule:NAME:SLOT (SLOT in ISO UTC), so two
    schedulers on the same file do not enqueue a slot twice. Slots missed while no scheduler
    ran follow each schedule's catch_up: none, latest (default) or all (at most 100).
    One log line per enqueued slot.
    """
    level = log_options(log_level, log_format)
    setup_logging(level, log_format, prefix="[SCHEDULER]")  # type: ignore[arg-type]
    schedules = load_or_refuse(file)
    state = ctx.find_root().obj
    settings = state.settings(url=url, timeout=timeout, namespace=namespace)
    require_writable(settings, "run a scheduler (it enqueues tasks)")
    client = state.client(settings)
    runner = Scheduler(client, schedules, settings.namespace)
    with client:
        if once:
            runner.run_once(raise_errors=True, final=True)
            return
        with StopSignals(runner.request_stop):
            runner.run()
