"""A bulk change as a command runs it: the question first, a progress bar on a terminal, the
report at the end (data on stdout by format, a summary on stderr, the exit code). The run
itself is :func:`eventix_cli.cli.bulk.run_bulk`; every command that changes many tasks (the
task commands, ``undo``) goes through here."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import typer

from eventix_cli.cli import output
from eventix_cli.cli.output import Column, Output
from eventix_cli.core.errors import ExitCode, TaskNotFound, UsageError, format_error

if TYPE_CHECKING:
    from eventix_cli.cli.bulk import BulkResult


def interactive() -> bool:
    """Can we ask a person? (stdin and stderr are terminals)"""
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirm_or_refuse(question: str, *, yes: bool) -> None:
    """Ask on a terminal; off a terminal, refuse unless ``--yes`` was given."""
    if yes:
        return
    if not interactive():
        raise UsageError(
            "refusing to change tasks without confirmation: not on a terminal",
            hint="pass --yes to confirm (or --dry-run to see what would happen)",
        )
    if not output.confirm(question):
        output.message("nothing was changed (not confirmed)")
        raise typer.Exit(0)  # declining is a choice, not a failure


def report_bulk(
    fmt: str | None,
    result: BulkResult,
    *,
    verb: str,
    expected: int | None = None,
    again: str = "running the same command again",
    named: bool = False,
) -> None:
    """The outcome of a bulk command: data on stdout by format, a summary on stderr; exit 1 on
    failure. A run cut short says so and exits 130 (Ctrl-C) or with the code of what stopped it
    (3 for an outage); ``expected`` (the count, when known) tells how many were not attempted,
    ``again`` what handles the rest (a command that is not the same one again, for ``undo``).
    ``named``: the tasks were named on the command line, so one id whose task is not there
    is said as ``task show`` says it (one line, exit 4)."""
    out = Output(fmt)
    if out.format == "json":
        out.document(result.to_json(expected))
    elif out.format in ("jsonl", "csv"):
        out.records(result.rows(), [Column(k, k) for k in ("uid", "outcome", "error_class", "reason")])
    elif out.format == "ids":
        out.records(({"uid": uid} for uid in result.done), [])
    if result.error is not None and not (
        result.done or result.skipped or result.failed or result.interrupted
    ):
        # stopped before any task was handled (the server unreachable from the first request):
        # the error is the whole story, not "0 purged, the rest not attempted"
        output.error_lines(format_error(result.error))
        raise typer.Exit(int(result.error.exit_code))
    if named and _one_task_not_found(result):
        # one id named whose task is not there (cancelled twice, a mistyped id): said as
        # `task show` says it, one line and exit 4, not as a bulk run that partly failed
        # (ids read from stdin stay a bulk run: exit 1 whatever their number)
        output.error_lines([f"error: {result.failed[0]['reason']} (NotFound)"])
        raise typer.Exit(int(ExitCode.REJECTED))
    for line in result.summary(verb, expected):
        output.message(line)
    if result.stopped_early:
        why = "interrupted" if result.interrupted else "stopped"
        output.message(
            f"{why}: the tasks above were handled, nothing else was touched; {again} handles the rest"
        )
    if result.interrupted:
        raise typer.Exit(130)
    if result.error is not None:
        output.error_lines(format_error(result.error))
        raise typer.Exit(int(result.error.exit_code))
    if result.failed:
        raise typer.Exit(1)


def _one_task_not_found(result: BulkResult) -> bool:
    """Was the run one task, which was not found?"""
    return (
        result.total == 1
        and not result.stopped_early
        and len(result.failed) == 1
        and result.failed[0]["error_class"] == TaskNotFound.server_class_name
    )


def run_selected(
    *,
    verb: str,
    action_name: str,
    uids: Iterable[Any],
    total: int | None,
    action: Any,
    concurrency: int,
    fmt: str | None,
    key: Any = str,
    nothing: str | None = None,
    again: str = "running the same command again",
    named: bool = False,
) -> None:
    """Run a bulk action with a progress bar on a terminal, then report it (``nothing`` is
    said instead of a summary when there turned out to be nothing to do; ``again`` and
    ``named``: see :func:`report_bulk`)."""
    # deferred: cli.bulk (~4 ms of dataclass set-up) only for bulk actions, kept off `task
    # list/show/add` (tests/test_startup.py)
    from eventix_cli.cli.bulk import run_bulk

    with output.progress(f"{verb}", total) as advance:
        result = run_bulk(action_name, uids, action, key=key, concurrency=concurrency, on_done=advance)
    if nothing and result.total == 0 and not result.stopped_early:
        output.message(nothing)
        return
    report_bulk(fmt, result, verb=verb, expected=total, again=again, named=named)
