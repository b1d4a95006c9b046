"""Options and helpers shared by the ``eventix task`` commands."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.errors import ReadOnlyError, UsageError

if TYPE_CHECKING:
    from eventix_cli.bulk import BulkResult
    from eventix_cli.client import EventixClient
    from eventix_cli.models import Task
    from eventix_cli.output import Column
    from eventix_cli.query import TaskQuery
    from eventix_cli.settings import Settings
    from eventix_cli.state import AppState

FILTERS = "Filters"

StatusOption = Annotated[
    list[str] | None,
    typer.Option(
        "--status",
        "-s",
        help="Only tasks in this status (repeatable, or comma-separated): scheduled, processing, retry, "
        "error, done.",
        show_default=False,
        rich_help_panel=FILTERS,
    ),
]
TaskNameOption = Annotated[
    str | None,
    typer.Option(
        "--task", "-t", help="Only tasks of this task function.", show_default=False, rich_help_panel=FILTERS
    ),
]
UniqueKeyFilterOption = Annotated[
    str | None,
    typer.Option(
        "--unique-key",
        "-k",
        help="Only tasks with this unique key, or keys matching a glob such as 'report:*'.",
        show_default=False,
        rich_help_panel=FILTERS,
    ),
]
OlderThanOption = Annotated[
    str | None,
    typer.Option(
        "--older-than",
        help="Only tasks created longer ago than this (90s, 15m, 2h, 7d).",
        show_default=False,
        rich_help_panel=FILTERS,
    ),
]
NewerThanOption = Annotated[
    str | None,
    typer.Option(
        "--newer-than",
        help="Only tasks created within this (90s, 15m, 2h, 7d).",
        show_default=False,
        rich_help_panel=FILTERS,
    ),
]
AllNamespacesOption = Annotated[
    bool,
    typer.Option("--all-namespaces", "-A", help="Every namespace, not just one.", rich_help_panel=FILTERS),
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Do it without asking (needed when not on a terminal).")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show the count, a sample and the filter; change nothing.")
]
ConcurrencyOption = Annotated[
    int, typer.Option("--concurrency", "-c", min=1, max=64, help="Requests in flight at once.")
]


def state_of(ctx: typer.Context) -> AppState:
    return ctx.find_root().obj


def connect(ctx: typer.Context, **overrides: Any) -> tuple[Settings, EventixClient]:
    """Settings from this command's flags, and a client for them."""
    state = state_of(ctx)
    settings = state.settings(**overrides)
    return settings, state.client(settings)


def require_writable(settings: Settings, what: str) -> None:
    if settings.read_only:
        source = settings.sources.get("read_only", "settings")
        raise ReadOnlyError(
            f"refusing to {what}: read-only mode is on (from {source})",
            hint="unset EVENTIX_READ_ONLY or use a profile without read_only to change tasks",
        )


def build_query(
    settings: Settings,
    *,
    all_namespaces: bool = False,
    status: Sequence[str] | None = None,
    task: str | None = None,
    unique_key: str | None = None,
    older_than: str | None = None,
    newer_than: str | None = None,
) -> TaskQuery:
    from eventix_cli.query import TaskQuery, parse_statuses
    from eventix_cli.timeparse import parse_duration

    return TaskQuery(
        namespace=None if all_namespaces else settings.namespace,
        statuses=parse_statuses(status),
        task=task,
        unique_key=unique_key,
        older_than=parse_duration(older_than, "--older-than") if older_than else None,
        newer_than=parse_duration(newer_than, "--newer-than") if newer_than else None,
    )


def read_ids(ids: Sequence[str]) -> list[str]:
    """Ids from the arguments; ``-`` reads them from stdin (one per line, or JSON lines with ``uid``)."""
    out: list[str] = []
    for item in ids:
        if item == "-":
            out.extend(_ids_from_lines(sys.stdin))
        elif item.strip():
            out.append(item.strip())
    from eventix_cli.wire import check_identifier

    for uid in out:
        check_identifier(uid, "task id")  # the whole input is checked before anything is sent
    seen: set[str] = set()
    unique = [uid for uid in out if not (uid in seen or seen.add(uid))]
    return unique


def _ids_from_lines(lines: Iterable[str]) -> Iterator[str]:
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                uid = json.loads(line).get("uid")
            except (ValueError, AttributeError):
                uid = None
            if not isinstance(uid, str) or not uid:
                raise UsageError(f"stdin line {number}: a JSON line needs a string 'uid' field")
            yield uid
        else:
            yield line.split()[0]


def interactive() -> bool:
    """Can we ask a person? (stdin and stderr are terminals)"""
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirm_or_refuse(question: str, *, yes: bool) -> None:
    """Ask on a terminal; off a terminal, refuse unless ``--yes`` was given."""
    from eventix_cli import output

    if yes:
        return
    if not interactive():
        raise UsageError(
            "refusing to change tasks without confirmation: not on a terminal",
            hint="pass --yes to confirm (or --dry-run to see what would happen)",
        )
    if not output.confirm(question):
        raise typer.Abort()


# -- rendering ------------------------------------------------------------------------------


def retries_left(task: Task) -> str:
    if not task.retry:
        return "no"
    return "∞" if task.max_retries is None else str(task.max_retries)


def task_row(task: Task, now: dt.datetime) -> dict[str, Any]:
    from eventix_cli.timeparse import relative

    return {
        "uid": task.uid,
        "namespace": task.namespace,
        "task": task.task,
        "status": task.status.value,
        "priority": task.logical_priority,
        "eta": task.eta.isoformat().replace("+00:00", "Z") if task.eta else None,
        "eta_relative": relative(task.eta, now),
        "unique_key": task.unique_key,
        "retries_left": retries_left(task),
        "_task": task,
    }


def task_columns() -> list[Column]:
    from eventix_cli.output import Column

    return [
        Column("uid", "UID", min_width=32),
        Column("namespace", "NAMESPACE"),
        Column("task", "TASK"),
        Column("status", "STATUS", min_width=10),
        Column("priority", "PRIO", justify="right", min_width=4),
        Column("eta_relative", "ETA", min_width=6),
        Column("unique_key", "UNIQUE KEY"),
        Column("retries_left", "RETRIES", justify="right", min_width=3),
    ]


CSV_COLUMNS = ("uid", "namespace", "task", "status", "priority", "eta", "unique_key", "retries_left")


def print_tasks(fmt: str | None, tasks: Iterable[Task]) -> int:
    """Tasks as a table, or their full documents (json/jsonl), CSV rows or ids. Returns the count."""
    from eventix_cli.models import utcnow
    from eventix_cli.output import Column, Output

    now = utcnow()
    out = Output(fmt)
    rows = (task_row(t, now) for t in tasks)
    columns = [Column(c, c) for c in CSV_COLUMNS] if out.format == "csv" else task_columns()
    return out.records(rows, columns, raw=lambda row: row["_task"].to_wire())


def report_bulk(fmt: str | None, result: BulkResult, *, verb: str) -> None:
    """The outcome of a bulk command: data on stdout by format, a summary on stderr; exit 1 on failure."""
    from eventix_cli import output
    from eventix_cli.output import Column, Output

    out = Output(fmt)
    if out.format == "json":
        out.document(result.to_json())
    elif out.format in ("jsonl", "csv"):
        out.records(result.rows(), [Column(k, k) for k in ("uid", "outcome", "error_class", "reason")])
    elif out.format == "ids":
        out.records(({"uid": uid} for uid in result.done), [])
    rate = f" ({result.rate:,.0f}/s)" if result.seconds > 0 and result.done else ""
    parts = [f"{len(result.done):,} {verb}"]
    if result.skipped:
        parts.append(f"{len(result.skipped):,} skipped")
    if result.failed:
        parts.append(f"{len(result.failed):,} failed")
    output.message(f"{', '.join(parts)} in {result.seconds:.2f}s{rate}")
    for item in (result.skipped + result.failed)[:20]:
        output.message(f"  {item['uid']}: {item['reason']}")
    hidden = len(result.skipped) + len(result.failed) - 20
    if hidden > 0:
        output.message(f"  ... and {hidden:,} more (-o json lists them all)")
    if result.interrupted:
        output.message("interrupted: the tasks above were handled; nothing else was touched")
        raise typer.Exit(130)
    if result.failed:
        raise typer.Exit(1)


def dry_run_report(
    fmt: str | None, *, verb: str, count: int, sample: Sequence[Task], query: TaskQuery
) -> None:
    """What a bulk command would do: the count, a sample of five and the exact filter."""
    from eventix_cli import output
    from eventix_cli.output import Output

    out = Output(fmt)
    described = query.describe()
    if out.format == "json":
        out.document(
            {
                "dry_run": True,
                "action": verb,
                "count": count,
                "query": described,
                "sample": [t.to_wire() for t in sample],
            }
        )
        return
    if out.format != "table":
        print_tasks(fmt, sample)
        output.message(f"dry run: would {verb} {count:,} task(s); query {json.dumps(described)}")
        return
    output.line(f"would {verb} {count:,} task(s)")
    output.line(f"filter sent: {json.dumps(described['filter'])}")
    for key in ("created_before", "created_after"):
        if key in described:
            output.line(f"and on the client: {key.replace('_', ' ')} {described[key]}")
    if sample:
        output.line(f"sample of {len(sample)}:")
        print_tasks(fmt, sample)
    output.message("dry run: nothing was changed")


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
) -> None:
    """Run a bulk action with a progress bar on a terminal, then report it (``nothing`` is
    said instead of a summary when there turned out to be nothing to do)."""
    from eventix_cli import output
    from eventix_cli.bulk import run_bulk

    with output.progress(f"{verb}", total) as advance:
        result = run_bulk(action_name, uids, action, key=key, concurrency=concurrency, on_done=advance)
    if nothing and result.total == 0 and not result.interrupted:
        output.message(nothing)
        return
    report_bulk(fmt, result, verb=verb)


def sample_and_count(client: EventixClient, query: TaskQuery, size: int = 5) -> tuple[int, list[Task]]:
    sample, total = query.first(client, size, "_id")
    return (query.count(client) if total is None else total), sample


def no_filter_given(**options: Any) -> bool:
    return not any(v for v in options.values())


def run_by_filter(
    *,
    client: EventixClient,
    settings: Settings,
    query: TaskQuery,
    action_name: str,
    verb: str,
    ask: str,
    action: Any,
    concurrency: int,
    yes: bool,
    dry_run: bool,
    items: Iterable[Any] | None = None,
    key: Any = str,
    count_first: bool = True,
) -> None:
    """The filter mode of retry, cancel and purge: count and sample, dry run, confirm, run.

    ``items`` default to the uids of the matches; with ``count_first=False`` the count is
    skipped when nothing needs it (``--yes`` off a terminal: no question, no progress bar).
    """
    from eventix_cli import output

    nothing = f"nothing to {action_name}: no task matches"
    count: int | None = None
    if dry_run or count_first or not yes or interactive():
        count, sample = sample_and_count(client, query)
        if dry_run:
            dry_run_report(settings.output, verb=action_name, count=count, sample=sample, query=query)
            return
        if count == 0:
            output.message(nothing)
            return
        where = "every namespace" if query.namespace is None else f"namespace {query.namespace}"
        confirm_or_refuse(f"{ask} {count:,} task(s) in {where} matching {query.describe()}?", yes=yes)
    run_selected(
        verb=verb,
        action_name=action_name,
        uids=items if items is not None else (t.uid for t in query.iter_all(client)),
        total=count,
        action=action,
        key=key,
        concurrency=concurrency,
        fmt=settings.output,
        nothing=nothing,
    )
