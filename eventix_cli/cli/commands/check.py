"""``eventix check``: is a queue healthy? Rules with limits, exit codes for monitors.

The exit code is a Nagios/Icinga plugin's: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. Every error
is UNKNOWN (3), a usage error too, as the plugin guidelines ask: a monitor reads 2 as
CRITICAL, so this command never exits 2 for bad input, unlike the others.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.cli import output
from eventix_cli.cli.helptext import PlainUsageCommand
from eventix_cli.cli.options import (
    AllNamespacesOption,
    NamespaceOption,
    OutputOption,
    TimeoutOption,
    UrlOption,
)
from eventix_cli.cli.output import Column, Output, refuse_ids
from eventix_cli.cli.state import connect
from eventix_cli.cli.tables import escape
from eventix_cli.core.errors import EventixCliError, UsageError, format_error, from_unexpected
from eventix_cli.core.thresholds import Limit, State, parse_limit, worst
from eventix_cli.core.times import format_duration, utcnow

if TYPE_CHECKING:
    from eventix_cli.client.checks import Measured

EPILOG = """\
[bold]Examples[/bold]

  eventix check -n billing --max-oldest-due 5m --max-errors 5:20/1h
  eventix check -A --min-done 1/10m --max-processing-expired 0 -o json

Limits: N (critical above it), WARN:CRIT, /WINDOW for errors and done.
Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (server unreadable or
bad options).
"""

RULES = "Rules"
HOUR = dt.timedelta(hours=1)

#: rule name -> (option, max or min, a duration?, default window or None, what is measured)
RULE_TABLE: dict[str, tuple[str, str, bool, dt.timedelta | None, str]] = {
    "oldest-due": ("--max-oldest-due", "max", True, None, "oldest due task waited"),
    "errors": ("--max-errors", "max", False, HOUR, "tasks failed"),
    "done": ("--min-done", "min", False, HOUR, "tasks done"),
    "processing-expired": ("--max-processing-expired", "max", False, None, "processing past their lease"),
    "queued": ("--max-queued", "max", False, None, "tasks queued"),
}


class PluginCommand(PlainUsageCommand):
    """A command whose every error exits 3 (UNKNOWN), bad options included."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except typer.TyperException as exc:  # typer's usage error (no such option, a bad value)
            text = " ".join(exc.format_message().split())
            output.message(f"error: {text} (UsageError)")
            raise typer.Exit(int(State.UNKNOWN)) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EventixCliError as exc:
            unknown(exc)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - a monitor must read UNKNOWN, not WARNING (1), for a bug
            unknown(from_unexpected(exc))


#: read by the command table: build this command as a PluginCommand
COMMAND_CLASS = PluginCommand


def unknown(error: EventixCliError) -> None:
    output.error_lines(format_error(error))
    output.message("UNKNOWN: the checks could not be run")
    raise typer.Exit(int(State.UNKNOWN))


def _limit_option(rule: str, help_text: str) -> Any:
    option, _, duration, _window, _ = RULE_TABLE[rule]
    metavar = "AGE" if duration else "LIMIT"  # a window (/1h) is in the help: room for it
    return typer.Option(option, help=help_text, metavar=metavar, show_default=False, rich_help_panel=RULES)


def check(
    ctx: typer.Context,
    max_oldest_due: Annotated[
        str | None,
        _limit_option("oldest-due", "The oldest due, unclaimed task waited at most this (5m, 2m:10m)."),
    ] = None,
    max_errors: Annotated[
        str | None,
        _limit_option(
            "errors", "At most N tasks failed (error or retry) within a window: 10, 10/1h, 5:20/1h."
        ),
    ] = None,
    min_done: Annotated[
        str | None, _limit_option("done", "At least N tasks done within a window: 1, 1/10m, 10:1/10m.")
    ] = None,
    max_processing_expired: Annotated[
        str | None, _limit_option("processing-expired", "At most N processing tasks past their lease (0).")
    ] = None,
    max_queued: Annotated[
        str | None, _limit_option("queued", "At most N tasks waiting to run (scheduled or retry).")
    ] = None,
    all_namespaces: AllNamespacesOption = False,
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output_format: OutputOption = None,
) -> None:
    """Check a queue's health against limits: one line per rule, the worst first.

    A rule given one limit is CRITICAL when broken; WARN:CRIT gives both levels (for --min-done
    the warning limit is the higher one). A value equal to a limit is within it. The window of
    --max-errors and --min-done follows a slash (default 1h). Each rule costs one request per
    namespace, whatever the queue size; a count of many tasks shows as "at least" (N+).
    """
    # deferred: the checks module brings the monitor (concurrent.futures), kept off --help
    from eventix_cli.client.checks import MOST_READ, run_checks

    given = {
        "oldest-due": max_oldest_due,
        "errors": max_errors,
        "done": min_done,
        "processing-expired": max_processing_expired,
        "queued": max_queued,
    }
    rules: dict[str, Limit] = {}
    for rule, text in given.items():
        if text is None:
            continue
        option, kind, duration, window, _ = RULE_TABLE[rule]
        most = None if duration or rule == "queued" else MOST_READ
        rules[rule] = parse_limit(
            text, option, kind=kind, duration=duration, default_window=window, most=most
        )
    if not rules:
        raise UsageError("give at least one rule: " + ", ".join(spec[0] for spec in RULE_TABLE.values()))
    settings, client = connect(ctx, url=url, timeout=timeout, output=output_format, namespace=namespace)
    refuse_ids(settings.output, "check has rule states, not tasks", "-o json or -o table")
    now = utcnow()
    with client:
        names = client.namespaces() if all_namespaces else [settings.namespace]
        results = run_checks(client, names, rules, now)
    state = report(settings.output, results, now)
    raise typer.Exit(int(state))


def report(fmt: str | None, results: list[Measured], now: dt.datetime) -> State:
    """The results on stdout, the worst first; returns the overall state."""
    ordered = sorted(results, key=lambda r: -r.state)  # stable: rule order within a state
    state = worst([r.state for r in results])
    rows = [_row(r) for r in ordered]
    out = Output(fmt)
    if out.format == "json":
        out.document({"state": state.name, "exit_code": int(state), "time": now.isoformat(), "checks": rows})  # type: ignore[arg-type]
    elif out.format == "table":
        for row, result in zip(rows, ordered, strict=True):
            output.line(_line(row, result))
        if not rows:
            output.line("OK: no namespace to check")
    else:
        keys = ("state", "namespace", "rule", "value", "exact", "warning", "critical", "window_seconds")
        out.records(rows, [Column(k, k) for k in keys])
    return state


def _row(result: Measured) -> dict[str, Any]:
    limit = result.limit
    return {
        "state": result.state.name,
        "namespace": result.namespace,
        "rule": result.rule,
        "value": result.value,
        "exact": result.exact,
        "warning": limit.warning,
        "critical": limit.critical,
        "window_seconds": None if limit.window is None else limit.window.total_seconds(),
    }


def _line(row: dict[str, Any], result: Measured) -> str:
    """``CRITICAL billing oldest-due: oldest due task waited 12m (critical > 5m)``"""
    limit = result.limit
    what = RULE_TABLE[result.rule][4]
    value = limit.shown(result.value) + ("" if result.exact else "+")
    within = "" if limit.window is None else f" within {format_duration(limit.window.total_seconds())}"
    measured = f"{what} {value}" if limit.duration else f"{value} {what}{within}"
    return escape(f"{row['state']} {row['namespace']} {row['rule']}: {measured} ({limit.describe()})")
