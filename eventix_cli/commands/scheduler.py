"""``eventix scheduler FILE``: enqueue the due slots of a schedules file as tasks."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.commands.options import NamespaceOption, TimeoutOption, UrlOption
from eventix_cli.errors import UsageError

EPILOG = """\
[bold]Examples[/bold]

  [dim]# run until SIGTERM/Ctrl-C; start a second one elsewhere for high availability[/dim]
  eventix scheduler schedules.toml --url http://127.0.0.1:8000

  [dim]# from a crontab line (* * * * *): enqueue what is due now, then exit[/dim]
  eventix scheduler /etc/eventix/schedules.toml --once
"""

ENV_LOG_LEVEL = "EVENTIX_WORKER_LOG_LEVEL"

if TYPE_CHECKING:
    from eventix_cli.schedules.runner import SchedulerThread


def start_in_worker(state: Any, settings: Any, file: Path | None) -> SchedulerThread | None:
    """``eventix worker --schedules FILE``: the scheduler in a thread of the worker, with its
    own client; the caller stops it when the worker ends."""
    if file is None:
        return None
    from eventix_cli.commands.schedule import load_or_refuse
    from eventix_cli.schedules.runner import Scheduler, SchedulerThread

    schedules = load_or_refuse(file)
    thread = SchedulerThread(Scheduler(state.client(settings, retries=0), schedules, settings.namespace))
    thread.start()
    return thread


def scheduler(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="Schedules file (see 'eventix schedule list --help').", show_default=False)
    ],
    once: Annotated[
        bool, typer.Option("--once", help="Enqueue the slots due now, then exit (for cron-driven setups).")
    ] = False,
    namespace: NamespaceOption = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            help="DEBUG, INFO, WARNING, ERROR (env: EVENTIX_WORKER_LOG_LEVEL; default INFO).",
            show_default=False,
        ),
    ] = None,
    log_format: Annotated[str, typer.Option("--log-format", help="text, or json for log shippers.")] = "text",
    url: UrlOption = None,
    timeout: TimeoutOption = None,
) -> None:
    """Enqueue each due slot of FILE's schedules as a task, until SIGTERM or Ctrl-C.

    Each slot's task has the unique key schedule:NAME:SLOT (SLOT in ISO UTC), so two
    schedulers on the same file do not enqueue a slot twice. Slots missed while no scheduler
    ran follow each schedule's catch_up: none, latest (default) or all (at most 100).
    One log line per enqueued slot.
    """
    from eventix_cli.commands.schedule import load_or_refuse
    from eventix_cli.commands.task.common import require_writable
    from eventix_cli.logging import parse_level, setup_logging
    from eventix_cli.schedules.runner import Scheduler

    if log_format not in ("text", "json"):
        raise UsageError(f"--log-format {log_format!r}: use text or json")
    try:
        level = parse_level(log_level or os.environ.get(ENV_LOG_LEVEL) or "INFO")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    setup_logging(level, log_format, prefix="[SCHEDULER]")  # type: ignore[arg-type]
    schedules = load_or_refuse(file)
    state = ctx.find_root().obj
    settings = state.settings(url=url, timeout=timeout, namespace=namespace)
    require_writable(settings, "run a scheduler (it enqueues tasks)")
    client = state.client(settings)
    runner = Scheduler(client, schedules, settings.namespace)
    with client:
        if once:
            runner.run_once(raise_errors=True)
            return
        previous = {
            sig: signal.signal(sig, lambda _s, _f: runner.request_stop())
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            runner.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
